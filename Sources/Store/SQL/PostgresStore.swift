import Dispatch
import Logging
import NIOPosix
import PostgresNIO
import Scheduler
import Synchronization

/// The store's PostgreSQL engine: PostgresNIO's pooled client (run by whoever opened it) and a pool of threads
/// the store's synchronous transactions run on, one connection each.
///
/// Writes run `SERIALIZABLE`, so every invariant the SQLite store gets from its single writer (check-then-write in
/// one transaction: a channel in use is not deleted, a checkpoint moves once) holds here too, enforced by the
/// database; a transaction PostgreSQL refuses to serialize is run again, with jitter, up to `maxAttempts` times.
/// Reads run `REPEATABLE READ READ ONLY`: one snapshot, as a SQLite read transaction sees. The record writer's flushes
/// run `READ COMMITTED` (`WriteIsolation.readCommitted`): they only insert rows under unique request ids and add to
/// counters, which need no predicate locks, and they run for every request the gateway serves.
final class PostgresStore: Sendable {
    let client: PostgresClient
    let logger: Logger
    /// `host:port/database`, for errors.
    let location: String
    private let threads: NIOThreadPool
    static let maxAttempts = 30

    init(client: PostgresClient, location: String, threads: Int, logger: Logger) {
        self.client = client
        self.location = location
        self.logger = logger
        self.threads = NIOThreadPool(numberOfThreads: max(2, threads))
        self.threads.start()
    }

    deinit { threads.shutdownGracefully { _ in } }

    static let beginRead = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"

    static func beginWrite(_ isolation: WriteIsolation) -> String {
        switch isolation {
        case .serializable: "BEGIN ISOLATION LEVEL SERIALIZABLE"
        case .readCommitted: "BEGIN ISOLATION LEVEL READ COMMITTED"
        }
    }

    /// `body` in one transaction begun by `begin` (`BEGIN ISOLATION LEVEL …`), retried when PostgreSQL refuses to
    /// serialize it.
    func transaction<T: Sendable>(_ begin: String, _ body: @Sendable @escaping (any StoreConnection) throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await leasing { connection in
                    try await self.threads.runIfActive {
                        let db = PostgresStoreConnection(connection, logger: self.logger)
                        try db.execute(sql: begin)
                        do {
                            let result = try body(db)
                            try db.execute(sql: "COMMIT")
                            return result
                        } catch {
                            try? db.execute(sql: "ROLLBACK")
                            throw error
                        }
                    }
                }
            } catch let error as PostgresRetryable {
                guard attempt < Self.maxAttempts else { throw StoreError.database(error.description) }
                attempt += 1
                try await Task.sleep(for: .microseconds(Int.random(in: 100...(500 << min(attempt, 6)))))
            }
        }
    }
}

extension PostgresStore {
    /// How long a transaction waits for a connection before it fails: PostgresNIO's pool keeps trying to connect
    /// to a database that is away, and a caller (the record writer, an API request) must hear about it instead.
    static let connectionWait: Duration = .seconds(5)

    private enum Lease { case waiting, taken, abandoned }

    private final class LeaseState: Sendable {
        let state = Mutex(Lease.waiting)

        /// Moves from `waiting` to `next`; false when the other side moved first.
        func leave(to next: Lease) -> Bool {
            state.withLock { state in
                guard state == .waiting else { return false }
                state = next
                return true
            }
        }
    }

    /// `body` on a pooled connection, or `StoreError.database` when none is to be had within `connectionWait`. Once
    /// `body` has its connection it is never cut short: a transaction that began is committed or rolled back whole.
    func leasing<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let lease = LeaseState()
        let client = client
        do {
            return try await answer(within: Self.connectionWait, giveUp: { lease.leave(to: .abandoned) }) {
                try await client.withConnection { connection in
                    guard lease.leave(to: .taken) else { throw CancellationError() }
                    return try await body(connection)
                }
            }
        } catch is SchedulerError where lease.state.withLock({ $0 }) == .abandoned {
            throw StoreError.database("PostgreSQL at \(location) gave no connection within \(Self.connectionWait)")
        }
    }
}

/// Runs async work from one of the store's blocking threads and waits for it: how a synchronous transaction uses an
/// async API (the queue's enqueue) on its own connection. Never called from Swift's cooperative pool.
func waitForAsync<T: Sendable>(_ operation: @Sendable @escaping () async throws -> T) throws -> T {
    let done = DispatchSemaphore(value: 0)
    let box = ResultBox<T>()
    Task {
        do { box.result = .success(try await operation()) } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try box.result!.get()
}

private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}

extension PostgresQueue: StoreQueueDriver {
    // The queue's statements fail as the store's do: a serialization failure inside the caller's transaction is
    // recognised and the whole transaction run again, not thrown out raw (a job then failed with PostgresNIO's
    // "Generic description" and ran a second time).
    public func enqueue(_ jobs: [NewJob], in db: any StoreConnection) throws -> [EnqueueResult] {
        let connection = try Self.connection(of: db)
        return try PostgresStoreConnection.translatingErrors { try waitForAsync { try await self.enqueue(jobs, in: connection) } }
    }

    @discardableResult
    public func cancel(uniqueKeys: [String], in db: any StoreConnection) throws -> Int {
        let connection = try Self.connection(of: db)
        return try PostgresStoreConnection.translatingErrors {
            try waitForAsync { try await self.cancel(uniqueKeys: uniqueKeys, in: connection) }
        }
    }

    private static func connection(of db: any StoreConnection) throws -> PostgresConnection {
        guard let postgres = db as? PostgresStoreConnection else {
            throw StoreError.database("the PostgreSQL queue cannot enqueue inside a \(db.engine.rawValue) transaction")
        }
        return postgres.connection
    }
}
