import Foundation
import Logging
import Scheduler
import GRDB
import Testing
@_exported import TestSupport

/// A fresh temp directory with an SQLite file holding only the queue's tables (the queue is tested on its own,
/// without the store or any job kind), removed when the test ends.
final class TempDatabase: @unchecked Sendable {  // only `deinit` touches the file system after init
    let dir: String
    let pool: DatabasePool
    let clock: any WallClock
    let queue: SQLiteQueue

    init(clock: any WallClock = SystemWallClock()) throws {
        dir = NSTemporaryDirectory() + "switchyard-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        pool = try Self.open(dir + "/test.sqlite")
        self.clock = clock
        queue = SQLiteQueue(pool: pool, clock: clock)
    }

    static func open(_ path: String) throws -> DatabasePool {
        let pool = try SQLiteDatabase.open(SQLiteOptions(path: path))
        var migrator = DatabaseMigrator()
        SQLiteQueueSchema.register(in: &migrator)
        try migrator.migrate(pool)
        return pool
    }

    /// A second, independent connection pool and queue on the same file (as another process would have).
    func secondQueue() throws -> SQLiteQueue {
        SQLiteQueue(pool: try Self.open(dir + "/test.sqlite"), clock: clock)
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }
}

let testLogger: Logger = {
    var logger = Logger(label: "test")
    logger.logLevel = .warning
    return logger
}()

extension SQLiteQueue {
    func claim(_ limit: Int = 10, queue: String = "default", owner: String = "test-owner", ttl: Duration = .seconds(30)) async throws -> [ClaimedJob] {
        try await fetch(acks: [], heartbeats: [], leaseTTL: ttl, claim: ClaimRequest(queue: queue, owner: owner, limit: limit, leaseTTL: ttl)).claimed
    }

    func ack(_ job: ClaimedJob, _ outcome: JobAck.Outcome) async throws -> FetchResult {
        try await fetch(acks: [JobAck(lease: job.lease, outcome: outcome)], heartbeats: [], leaseTTL: .seconds(30), claim: nil)
    }

    func state(_ id: Int64) async throws -> JobState? { try await job(id: id)?.state }
}
