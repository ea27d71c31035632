import Logging
import Scheduler
@_spi(Engine) import Store

/// Storage wiring: the SQLite queue driver shares the store's pool, so a workflow's rows and its jobs commit in one
/// transaction. The one place outside `Store` and `Scheduler` that sees the pool.
enum Storage {
    /// The queue driver on `db`'s file.
    static func queue(_ db: AppDatabase, clock: any WallClock = SystemWallClock()) -> SQLiteQueue {
        SQLiteQueue(pool: db.pool, clock: clock)
    }

    /// The journal mode and `synchronous` setting the file runs with.
    static func durability(_ db: AppDatabase) throws -> (journalMode: String, synchronous: String) {
        try SQLiteDatabase.durability(of: db.pool)
    }

    /// The SQLite library's version.
    static func sqliteVersion(_ db: AppDatabase) async throws -> String {
        try await SQLiteDatabase.version(of: db.pool)
    }

    /// The PostgreSQL migrations a process applies at start.
    static var postgresMigrator: PostgresMigrator {
        var migrator = PostgresMigrator()
        PostgresQueueSchema.register(in: &migrator)
        return migrator
    }

    /// Runs `body` with the queue of the database `engine` selects: an existing SQLite file (a mistyped
    /// `--data-dir` is refused, not created), or PostgreSQL, checked reachable and migrated.
    static func withQueue<T: Sendable>(_ engine: EngineOptions, logger: Logger,
                                       _ body: (any QueueDriver) async throws -> T) async throws -> T {
        guard let url = engine.postgresURL else {
            let db = try AppDatabase.openExisting(dataDir: engine.sqlite.dataDir, synchronous: engine.sqlite.synchronous)
            return try await body(queue(db))
        }
        return try await PostgresDatabase.withOpened(url: url, poolSize: engine.databasePool, migrator: postgresMigrator,
                                                     logger: logger) { database in
            try await body(PostgresQueue(client: database.client, logger: logger))
        }
    }
}
