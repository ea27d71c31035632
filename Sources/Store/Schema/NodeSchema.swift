import GRDB

/// Exit nodes (relays that channels can be bound to) and each channel's binding.
enum NodeSchema {
    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("store-005-nodes") { db in
            try db.execute(sql: """
                CREATE TABLE nodes (
                    id INTEGER PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE,
                    host TEXT NOT NULL,
                    expected_ip TEXT NOT NULL,
                    relay_url TEXT NOT NULL,                 -- with the host name: where traffic goes once promoted
                    relay_key_sealed BLOB NOT NULL,
                    relay_key_fingerprint TEXT NOT NULL,
                    status TEXT NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending','healthy','unhealthy','dns_mismatch')),
                    use_hostname INTEGER NOT NULL DEFAULT 0, -- 0: traffic by expected_ip; 1: by host name
                    health_failures INTEGER NOT NULL DEFAULT 0,
                    dns_addresses TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(dns_addresses)),
                    last_error TEXT,
                    last_checked_at INTEGER,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                ALTER TABLE channels ADD COLUMN node_id INTEGER REFERENCES nodes(id);
                CREATE INDEX channels_node ON channels (node_id);
                """)
        }
    }
}
