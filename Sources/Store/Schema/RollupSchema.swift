import GRDB

/// The dashboards' rollups (`StatRollups`): what the record writer adds up per minute and per hour, by model and
/// channel, so the console's charts read a few hundred rows instead of scanning traces.
enum RollupSchema {
    /// One statement per step, in the SQL both engines take.
    static let statements = [
        """
        CREATE TABLE stat_rollups (span TEXT NOT NULL, start BIGINT NOT NULL, model TEXT NOT NULL, channel_id BIGINT NOT NULL,
        requests BIGINT NOT NULL, errors BIGINT NOT NULL, latency_ms_sum BIGINT NOT NULL, ttft_ms_sum BIGINT NOT NULL,
        ttft_count BIGINT NOT NULL, prompt_tokens BIGINT NOT NULL, completion_tokens BIGINT NOT NULL, cost BIGINT NOT NULL,
        PRIMARY KEY (span, start, model, channel_id))
        """,
        """
        CREATE TABLE latency_rollups (span TEXT NOT NULL, start BIGINT NOT NULL, model TEXT NOT NULL, channel_id BIGINT NOT NULL,
        metric TEXT NOT NULL, le_ms BIGINT NOT NULL, count BIGINT NOT NULL,
        PRIMARY KEY (span, start, model, channel_id, metric, le_ms))
        """,
    ]

    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("store-011-rollups") { db in
            for statement in statements { try db.execute(sql: statement) }
        }
    }
}
