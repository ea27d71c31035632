import Dispatch
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

    /// The PostgreSQL migrations a process applies at start: the queue's and the store's.
    static var postgresMigrator: PostgresMigrator { AppDatabase.postgresMigrator }

    /// The store and queue a serving process runs on, what to log about them, and how to close them.
    struct Opened: Sendable {
        let db: AppDatabase
        let driver: StoreQueue
        /// The PostgreSQL queue, whose `LISTEN` wakes this process's workers (nil on SQLite).
        let postgres: PostgresQueue?
        let metadata: Logger.Metadata
        /// Stops the PostgreSQL client once everything that writes has stopped.
        let close: @Sendable () async -> Void
    }

    /// Opens the engine `engine` selects for `serve`: the SQLite file in `--data-dir` (created if missing), or
    /// PostgreSQL, checked reachable (one line naming host and port, never the password, when it is not) and
    /// migrated under the advisory lock.
    static func open(_ engine: EngineOptions, qos: DispatchQoS, logger: Logger) async throws -> Opened {
        guard let url = engine.postgresURL else {
            let db = try AppDatabase.open(dataDir: engine.sqlite.dataDir, synchronous: engine.sqlite.synchronous, qos: qos)
            let durability = try durability(db)
            return Opened(db: db, driver: queue(db), postgres: nil, metadata: [
                "path": "\(db.path)", "journal_mode": "\(durability.journalMode)", "synchronous": "\(durability.synchronous)",
            ], close: {})
        }
        try AppDatabase.ensureWritableDirectory(engine.sqlite.dataDir)
        let (database, applied, stop) = try await PostgresDatabase.open(
            url: url, poolSize: engine.databasePool, migrator: postgresMigrator, logger: logger)
        do {
            let version = try await database.serverVersion()
            let durability = try await database.durability()
            let db = AppDatabase(postgres: database.client, location: url.location, threads: engine.databasePool, logger: logger)
            let queue = PostgresQueue(client: database.client, logger: logger)
            return Opened(db: db, driver: queue, postgres: queue, metadata: [
                "engine": "postgresql", "database": "\(url.location)", "server": "\(version)", "settings": "\(durability)",
                "pool": "\(engine.databasePool)", "migrations_applied": "\(applied.count)",
            ], close: stop)
        } catch {
            await stop()
            throw error
        }
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

    /// Runs `body` with the store of the database `engine` selects: an existing SQLite file (a mistyped `--data-dir`
    /// is refused, not created), or PostgreSQL, checked reachable and migrated.
    static func withDatabase<T: Sendable>(_ engine: EngineOptions, logger: Logger,
                                          _ body: (AppDatabase) async throws -> T) async throws -> T {
        guard let url = engine.postgresURL else {
            return try await body(try AppDatabase.openExisting(dataDir: engine.sqlite.dataDir, synchronous: engine.sqlite.synchronous))
        }
        return try await withStore(url: url, poolSize: 2, logger: logger) { db, _ in try await body(db) }
    }

    /// Runs `body` with the store and queue on PostgreSQL at `url`, reachable-checked and migrated (the benchmarks'
    /// way in).
    static func withStore<T: Sendable>(url: DatabaseURL, poolSize: Int, logger: Logger,
                                       _ body: (AppDatabase, PostgresQueue) async throws -> T) async throws -> T {
        try await PostgresDatabase.withOpened(url: url, poolSize: poolSize, migrator: postgresMigrator, logger: logger) { database in
            try await body(AppDatabase(postgres: database.client, location: url.location, threads: poolSize, logger: logger),
                           PostgresQueue(client: database.client, logger: logger))
        }
    }
}
