import GRDB

/// Reconcile runs and their per-channel results: what each run found for each channel (one drift kind) and the
/// channel before and after the fix.
enum ReconcileSchema {
    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("store-004-reconcile") { db in
            try db.execute(sql: """
                CREATE TABLE reconcile_runs (
                    id TEXT PRIMARY KEY,
                    state TEXT NOT NULL CHECK (state IN ('queued','running','succeeded','failed')),
                    dry_run INTEGER NOT NULL CHECK (dry_run IN (0, 1)),
                    trigger TEXT NOT NULL CHECK (trigger IN ('api','schedule')),
                    job_id INTEGER UNIQUE,                   -- the reconcile.run job working on it
                    total INTEGER NOT NULL DEFAULT 0,        -- channels found when the run started
                    artifact_path TEXT,
                    error TEXT,
                    created_at INTEGER NOT NULL,
                    started_at INTEGER,
                    finished_at INTEGER
                );
                CREATE INDEX reconcile_runs_created ON reconcile_runs (created_at, id);
                CREATE INDEX reconcile_runs_state ON reconcile_runs (state);
                CREATE TABLE reconcile_results (
                    run_id TEXT NOT NULL REFERENCES reconcile_runs(id),
                    channel_id INTEGER NOT NULL,
                    name TEXT NOT NULL,
                    provider TEXT,
                    key_fingerprint TEXT NOT NULL,
                    drift TEXT CHECK (drift IS NULL OR drift IN ('in_sync','models_added','models_removed','auth_failed',
                        'unreachable','capability_changed','re_enabled','disabled')),   -- NULL while pending
                    applied INTEGER NOT NULL DEFAULT 0 CHECK (applied IN (0, 1)),
                    before TEXT NOT NULL CHECK (json_valid(before)),
                    after TEXT CHECK (after IS NULL OR json_valid(after)),
                    detail TEXT,
                    finished_at INTEGER,
                    PRIMARY KEY (run_id, channel_id)
                );
                CREATE INDEX reconcile_results_channel ON reconcile_results (channel_id, finished_at);
                """)
        }
    }
}
