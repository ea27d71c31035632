import Foundation
import Logging
import PostgresNIO
import Scheduler
import GRDB
import Testing
@_exported import TestSupport

/// A fresh queue on one engine, holding only the queue's tables (the queue is tested on its own, without the store
/// or any job kind): an SQLite file in a temp directory, or a fresh database on the test process's private
/// PostgreSQL cluster. Removed, or its clients stopped, when the test ends.
final class TestQueue: @unchecked Sendable {  // only `deinit` touches the state after init
    let engine: Engine
    let clock: any WallClock
    let queue: any QueueDriver
    private let location: String
    private var clients: [Task<Void, Never>] = []

    init(_ engine: Engine = .sqlite, clock: any WallClock = SystemWallClock()) async throws {
        self.engine = engine
        self.clock = clock
        switch engine {
        case .sqlite:
            let dir = NSTemporaryDirectory() + "switchyard-test-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            location = dir
            queue = SQLiteQueue(pool: try Self.openSQLite(dir + "/test.sqlite"), clock: clock)
        case .postgres:
            location = try await PostgresServer.freshDatabase()
            let (client, task) = try Self.startClient(location)
            clients.append(task)
            var migrator = PostgresMigrator()
            PostgresQueueSchema.register(in: &migrator)
            try await migrator.migrate(client, logger: testLogger)
            queue = PostgresQueue(client: client, clock: clock, logger: testLogger)
        }
    }

    /// The queue as the SQLite driver (for tests of SQLite's own transactions).
    var sqlite: SQLiteQueue { queue as! SQLiteQueue }
    /// The queue as the PostgreSQL driver.
    var postgres: PostgresQueue { queue as! PostgresQueue }

    /// A second, independent queue on the same database (as another process would have: its own connections and
    /// its own in-process notifier).
    func secondQueue() throws -> any QueueDriver {
        switch engine {
        case .sqlite:
            return SQLiteQueue(pool: try Self.openSQLite(location + "/test.sqlite"), clock: clock)
        case .postgres:
            let (client, task) = try Self.startClient(location)
            clients.append(task)
            return PostgresQueue(client: client, clock: clock, logger: testLogger)
        }
    }

    private static func openSQLite(_ path: String) throws -> DatabasePool {
        let pool = try SQLiteDatabase.open(SQLiteOptions(path: path))
        var migrator = DatabaseMigrator()
        SQLiteQueueSchema.register(in: &migrator)
        try migrator.migrate(pool)
        return pool
    }

    private static func startClient(_ url: String) throws -> (PostgresClient, Task<Void, Never>) {
        var configuration = try DatabaseURL(url).clientConfiguration()
        configuration.options.maximumConnections = 4
        let client = PostgresClient(configuration: configuration, backgroundLogger: testLogger)
        return (client, Task { await client.run() })
    }

    deinit {
        for task in clients { task.cancel() }
        if engine == .sqlite { try? FileManager.default.removeItem(atPath: location) }
    }
}


extension QueueDriver {
    func claim(_ limit: Int = 10, queue: String = "default", owner: String = "test-owner", ttl: Duration = .seconds(30)) async throws -> [ClaimedJob] {
        try await fetch(acks: [], heartbeats: [], leaseTTL: ttl, claim: ClaimRequest(queue: queue, owner: owner, limit: limit, leaseTTL: ttl)).claimed
    }

    func ack(_ job: ClaimedJob, _ outcome: JobAck.Outcome) async throws -> FetchResult {
        try await fetch(acks: [JobAck(lease: job.lease, outcome: outcome)], heartbeats: [], leaseTTL: .seconds(30), claim: nil)
    }

    func state(_ id: Int64) async throws -> JobState? { try await job(id: id)?.state }
}
