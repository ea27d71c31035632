import GRDB

/// The queue's tables, registered into the one migrator that `Store` runs at start.
public enum SQLiteQueueSchema {
    /// Adds the queue's migrations, numbered and append-only.
    public static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("scheduler-001-jobs") { db in
            try db.execute(sql: """
                CREATE TABLE jobs (
                    id INTEGER PRIMARY KEY,
                    kind TEXT NOT NULL,
                    queue TEXT NOT NULL,
                    args TEXT NOT NULL CHECK (json_valid(args)),
                    state TEXT NOT NULL CHECK (state IN ('available','scheduled','running','retryable','completed','cancelled','discarded')),
                    priority INTEGER NOT NULL,
                    attempt INTEGER NOT NULL DEFAULT 0,
                    max_attempts INTEGER NOT NULL,
                    run_at INTEGER NOT NULL,
                    retry_until INTEGER,
                    lease_owner TEXT,
                    lease_token INTEGER,
                    lease_expires_at INTEGER,
                    unique_key TEXT,
                    errors TEXT,
                    created_at INTEGER NOT NULL,
                    attempted_at INTEGER,
                    finalized_at INTEGER
                );
                CREATE INDEX jobs_fetch ON jobs (queue, priority, run_at, id)
                    WHERE state IN ('available','scheduled','retryable');
                CREATE INDEX jobs_lease ON jobs (lease_expires_at) WHERE state = 'running';
                CREATE UNIQUE INDEX jobs_unique_live ON jobs (unique_key)
                    WHERE unique_key IS NOT NULL AND state IN ('available','scheduled','running','retryable');
                CREATE INDEX jobs_finalized ON jobs (finalized_at) WHERE finalized_at IS NOT NULL;
                CREATE INDEX jobs_state_kind ON jobs (state, kind, queue);

                CREATE TABLE schedules (
                    name TEXT PRIMARY KEY,
                    kind TEXT NOT NULL,
                    queue TEXT NOT NULL,
                    args TEXT NOT NULL CHECK (json_valid(args)),
                    interval_ms INTEGER NOT NULL CHECK (interval_ms > 0),
                    enabled INTEGER NOT NULL DEFAULT 1,
                    last_slot_at INTEGER,
                    last_job_id INTEGER,
                    updated_at INTEGER NOT NULL
                );
                """)
        }
    }
}
