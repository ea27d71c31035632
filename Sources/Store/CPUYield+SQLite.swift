import GRDB
import GRDBSQLite
import Scheduler

extension CPUYield {
    /// SQLite virtual-machine steps between two looks at the clock (each look costs tens of nanoseconds; steps run
    /// from well under a microsecond to a few, so the pacer sees each `interval` within a few percent of it).
    static let stepsBetweenChecks: Int32 = 100

    /// Runs `body` with a progress handler on `db`'s connection that yields every `interval` of statement work,
    /// so a long background statement (a purge batch, an import's writes) lets a waiting gateway thread run.
    static func duringStatements<T>(of db: Database, _ body: () throws -> T) rethrows -> T {
        guard let connection = db.sqliteConnection else { return try body() }
        let pacer = UnsafeMutablePointer<CPUYield>.allocate(capacity: 1)
        pacer.initialize(to: CPUYield())
        sqlite3_progress_handler(connection, stepsBetweenChecks, { context in
            context?.assumingMemoryBound(to: CPUYield.self).pointee.ifDue()
            return 0
        }, pacer)
        defer {
            sqlite3_progress_handler(connection, 0, nil, nil)
            pacer.deinitialize(count: 1)
            pacer.deallocate()
        }
        return try body()
    }
}
