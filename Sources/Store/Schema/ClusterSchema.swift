import GRDB

/// The processes sharing the database (`ClusterProcess`).
enum ClusterSchema {
    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("store-006-processes") { db in
            try db.execute(sql: """
                CREATE TABLE processes (
                    id TEXT PRIMARY KEY,
                    role TEXT NOT NULL,
                    host TEXT NOT NULL,
                    pid INTEGER NOT NULL,
                    version TEXT NOT NULL,
                    address TEXT,
                    started_at INTEGER NOT NULL,
                    heartbeat_at INTEGER NOT NULL
                );
                CREATE INDEX processes_heartbeat ON processes (heartbeat_at);
                """)
        }
    }
}
