import GRDB

/// The operator console's signed-in sessions (`AppDatabase+Console`): kept in the database, so every gateway
/// process sharing it knows a session and a sign-out ends it everywhere.
enum ConsoleSchema {
    /// One statement per step, in the SQL both engines take.
    static let statements = [
        """
        CREATE TABLE console_sessions (id_hash TEXT PRIMARY KEY, csrf TEXT NOT NULL, created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL)
        """,
        "CREATE INDEX console_sessions_expires ON console_sessions (expires_at)",
    ]

    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("store-010-console-sessions") { db in
            for statement in statements { try db.execute(sql: statement) }
        }
    }
}
