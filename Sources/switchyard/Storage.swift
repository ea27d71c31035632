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
}
