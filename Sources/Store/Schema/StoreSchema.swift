import GRDB

/// The domain tables: users, keys, channels, prices, traces, usage and payloads.
enum StoreSchema {
    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("store-001-gateway") { db in
            try db.execute(sql: """
                CREATE TABLE users (
                    id INTEGER PRIMARY KEY,
                    name TEXT NOT NULL,
                    quota INTEGER,                          -- micro-units granted; NULL = unlimited
                    used INTEGER NOT NULL DEFAULT 0,        -- micro-units billed so far
                    rate_multiplier_ppm INTEGER NOT NULL DEFAULT 1000000 CHECK (rate_multiplier_ppm >= 0),
                    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active','disabled')),
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                CREATE TABLE api_keys (
                    id INTEGER PRIMARY KEY,
                    user_id INTEGER NOT NULL REFERENCES users(id),
                    name TEXT NOT NULL,
                    key_hash TEXT NOT NULL UNIQUE,          -- hex SHA-256 of the plain key
                    fingerprint TEXT NOT NULL,
                    models TEXT CHECK (models IS NULL OR json_valid(models)),   -- JSON array; NULL = any model
                    quota INTEGER,                          -- micro-units; NULL = unlimited
                    used INTEGER NOT NULL DEFAULT 0,
                    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active','disabled')),
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                CREATE TABLE channels (
                    id INTEGER PRIMARY KEY,
                    name TEXT NOT NULL,
                    type TEXT NOT NULL CHECK (type IN ('openai','anthropic')),
                    base_url TEXT NOT NULL,
                    api_key_sealed BLOB NOT NULL,           -- AES-GCM sealed upstream key
                    key_fingerprint TEXT NOT NULL,
                    models TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(models)),
                    model_mapping TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(model_mapping)),
                    priority INTEGER NOT NULL DEFAULT 0,
                    weight INTEGER NOT NULL DEFAULT 1 CHECK (weight >= 0),
                    status TEXT NOT NULL DEFAULT 'enabled'
                        CHECK (status IN ('enabled','disabled','auto_disabled','confirming')),
                    status_reason TEXT,
                    failure_streak INTEGER NOT NULL DEFAULT 0,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                CREATE TABLE model_prices (
                    name TEXT PRIMARY KEY,
                    input_price INTEGER NOT NULL CHECK (input_price >= 0),    -- micro-units per million tokens
                    output_price INTEGER NOT NULL CHECK (output_price >= 0),
                    updated_at INTEGER NOT NULL
                );
                CREATE TABLE traces (
                    id INTEGER PRIMARY KEY,
                    request_id TEXT NOT NULL UNIQUE,
                    user_id INTEGER,
                    key_id INTEGER,
                    channel_id INTEGER,
                    model TEXT,
                    endpoint TEXT NOT NULL,
                    stream INTEGER NOT NULL DEFAULT 0,
                    status INTEGER NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    latency_ms INTEGER NOT NULL,
                    ttft_ms INTEGER,
                    prompt_tokens INTEGER NOT NULL DEFAULT 0,
                    completion_tokens INTEGER NOT NULL DEFAULT 0,
                    cost INTEGER NOT NULL DEFAULT 0,
                    error TEXT,
                    has_payload INTEGER NOT NULL DEFAULT 0,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL
                );
                CREATE INDEX traces_created ON traces (created_at);
                CREATE INDEX traces_key ON traces (key_id, id);
                CREATE INDEX traces_channel ON traces (channel_id, id);
                CREATE INDEX traces_expires ON traces (expires_at);
                CREATE TABLE usage_logs (
                    id INTEGER PRIMARY KEY,
                    request_id TEXT NOT NULL UNIQUE,
                    user_id INTEGER NOT NULL,
                    key_id INTEGER NOT NULL,
                    channel_id INTEGER,
                    model TEXT NOT NULL,
                    prompt_tokens INTEGER NOT NULL,
                    completion_tokens INTEGER NOT NULL,
                    cost INTEGER NOT NULL,
                    created_at INTEGER NOT NULL
                );
                CREATE INDEX usage_logs_user_day ON usage_logs (user_id, created_at);
                CREATE TABLE payloads (
                    trace_id INTEGER PRIMARY KEY REFERENCES traces(id) ON DELETE CASCADE,
                    request_sealed BLOB,
                    response_sealed BLOB,
                    request_truncated INTEGER NOT NULL DEFAULT 0,
                    response_truncated INTEGER NOT NULL DEFAULT 0,
                    bytes INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL
                );
                CREATE INDEX payloads_expires ON payloads (expires_at);
                CREATE TABLE payload_audit (
                    id INTEGER PRIMARY KEY,
                    trace_id INTEGER NOT NULL,
                    actor TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    at INTEGER NOT NULL
                );
                """)
        }
    }
}
