import GRDB

/// Batch imports: runs, their items, the changes each made to channels (for rollback) and their events; and
/// what channels learn from an import (provider, model family, capability profile).
enum ImportSchema {
    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("store-002-import") { db in
            try db.execute(sql: """
                ALTER TABLE channels ADD COLUMN provider TEXT;
                ALTER TABLE channels ADD COLUMN family TEXT;
                ALTER TABLE channels ADD COLUMN capabilities TEXT CHECK (capabilities IS NULL OR json_valid(capabilities));
                CREATE INDEX channels_identity ON channels (provider, family);
                CREATE TABLE import_runs (
                    id TEXT PRIMARY KEY,
                    state TEXT NOT NULL
                        CHECK (state IN ('queued','running','succeeded','partially_succeeded','failed','cancelled')),
                    options TEXT NOT NULL CHECK (json_valid(options)),
                    idempotency_key TEXT UNIQUE,
                    request_digest TEXT NOT NULL,            -- SHA-256 of the request, to tell a replay from a reuse
                    total INTEGER NOT NULL,
                    search TEXT NOT NULL,                    -- providers and hosts, lower case, for ?q=
                    artifact_path TEXT,
                    created_at INTEGER NOT NULL,
                    started_at INTEGER,
                    finished_at INTEGER,
                    next_start_at INTEGER NOT NULL DEFAULT 0 -- the pace: when the next probe may start (UTC ms)
                );
                CREATE INDEX import_runs_state ON import_runs (state, created_at);
                CREATE TABLE import_items (
                    run_id TEXT NOT NULL REFERENCES import_runs(id),
                    idx INTEGER NOT NULL,
                    base_url TEXT NOT NULL,
                    api_key_sealed BLOB NOT NULL,
                    key_fingerprint TEXT NOT NULL,
                    provider TEXT,
                    requested_models TEXT CHECK (requested_models IS NULL OR json_valid(requested_models)),
                    smoke_model TEXT,
                    name TEXT,
                    state TEXT NOT NULL DEFAULT 'queued'
                        CHECK (state IN ('queued','probing','confirming','succeeded','failed','cancelled')),
                    probe_until INTEGER,                     -- holds a concurrency slot of the run until then
                    start_at INTEGER,                        -- the start this item reserved in the run's pace
                    outcome TEXT CHECK (outcome IS NULL OR outcome IN
                        ('created','reused','patch_only','replaced','reactivated','failed','cancelled')),
                    planned_outcome TEXT,                    -- what provisioning did, final once confirmed
                    classification TEXT,
                    channel_id INTEGER,
                    models TEXT CHECK (models IS NULL OR json_valid(models)),
                    capabilities TEXT CHECK (capabilities IS NULL OR json_valid(capabilities)),
                    provider_status TEXT,
                    access_status TEXT,
                    direct_chat_status INTEGER,
                    upstream_chat_status INTEGER,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    trail TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(trail)),
                    detail TEXT,
                    updated_at INTEGER NOT NULL,
                    PRIMARY KEY (run_id, idx)
                );
                CREATE INDEX import_items_channel ON import_items (channel_id);
                CREATE TABLE import_changes (
                    id INTEGER PRIMARY KEY,
                    run_id TEXT NOT NULL REFERENCES import_runs(id),
                    item_index INTEGER NOT NULL,
                    channel_id INTEGER NOT NULL,
                    action TEXT NOT NULL CHECK (action IN ('created','patched','replaced','reactivated')),
                    before TEXT CHECK (before IS NULL OR json_valid(before)),   -- the channel row before; NULL if created
                    after_digest TEXT NOT NULL,              -- the channel as this run left it
                    rolled_back_at INTEGER
                );
                CREATE INDEX import_changes_run ON import_changes (run_id, id);
                CREATE TABLE import_events (
                    id INTEGER PRIMARY KEY,
                    run_id TEXT NOT NULL,
                    item_index INTEGER,
                    type TEXT NOT NULL,
                    data TEXT NOT NULL CHECK (json_valid(data)),
                    at INTEGER NOT NULL
                );
                CREATE INDEX import_events_run ON import_events (run_id, id);
                """)
        }
    }
}
