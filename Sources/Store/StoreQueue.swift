import GRDB
import Scheduler

/// The queue as the store sees it: a driver whose enqueues join the store's own transactions, so a workflow's rows
/// and the jobs that drive them commit together. Each engine's driver conforms for its own connection.
public protocol StoreQueueDriver: QueueDriver {
    /// Enqueues jobs inside `db`'s transaction (unique keys as in `QueueDriver.enqueue`).
    func enqueue(_ jobs: [NewJob], in db: any StoreConnection) throws -> [EnqueueResult]

    /// Cancels the live jobs holding any of `uniqueKeys` inside `db`'s transaction; returns how many.
    @discardableResult
    func cancel(uniqueKeys: [String], in db: any StoreConnection) throws -> Int
}

public typealias StoreQueue = any StoreQueueDriver

extension SQLiteQueue: StoreQueueDriver {
    public func enqueue(_ jobs: [NewJob], in db: any StoreConnection) throws -> [EnqueueResult] {
        try enqueue(jobs, in: try Self.database(of: db))
    }

    @discardableResult
    public func cancel(uniqueKeys: [String], in db: any StoreConnection) throws -> Int {
        try cancel(uniqueKeys: uniqueKeys, in: try Self.database(of: db))
    }

    private static func database(of db: any StoreConnection) throws -> Database {
        guard let sqlite = db as? SQLiteStoreConnection else {
            throw StoreError.database("the SQLite queue cannot enqueue inside a \(db.engine.rawValue) transaction")
        }
        return sqlite.database
    }
}
