import GRDB

/// The settlement tables: the checkpoint that says which usage logs are settled, and the ledger of debits.
///
/// The balance model: `users.quota` is the credit granted, `users.used` the sum of settled debits, so the balance
/// is `quota - used`. Only `usage.settle` adds to `users.used`, and every addition has a ledger row written in
/// the same transaction that advances the checkpoint, so `sum(ledger.amount) = settled so far = used`.
enum SettlementSchema {
    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("store-003-settlement") { db in
            try db.execute(sql: """
                CREATE TABLE settlement_checkpoint (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    last_log_id INTEGER NOT NULL,           -- every usage log with id <= this is settled
                    settled_logs INTEGER NOT NULL,
                    settled_amount INTEGER NOT NULL,        -- micro-units debited in all
                    updated_at INTEGER NOT NULL
                );
                INSERT INTO settlement_checkpoint (id, last_log_id, settled_logs, settled_amount, updated_at)
                    VALUES (1, 0, 0, 0, 0);
                CREATE TABLE ledger (
                    id INTEGER PRIMARY KEY,
                    user_id INTEGER NOT NULL,
                    kind TEXT NOT NULL CHECK (kind IN ('settle')),
                    amount INTEGER NOT NULL,                -- micro-units debited: sum of ceil(cost × multiplier) per log
                    cost INTEGER NOT NULL,                  -- the logs' raw cost, before the multiplier
                    rate_multiplier_ppm INTEGER NOT NULL,   -- the multiplier applied
                    log_count INTEGER NOT NULL,
                    after_log_id INTEGER NOT NULL,          -- the batch covers the user's logs with id in
                    through_log_id INTEGER NOT NULL,        --   (after_log_id, through_log_id]
                    balance_after INTEGER,                  -- quota - used after the debit; NULL = unlimited
                    created_at INTEGER NOT NULL
                );
                CREATE INDEX ledger_user ON ledger (user_id, id);
                ALTER TABLE users ADD COLUMN exhausted_at INTEGER;   -- set when settlement ran the balance out
                """)
        }
    }
}
