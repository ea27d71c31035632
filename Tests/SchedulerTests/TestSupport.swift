import Foundation
import Logging
import Scheduler
import Store
import Testing
@_exported import TestSupport

/// A fresh temp directory with a migrated SQLite file, removed when the test ends.
final class TempDatabase: @unchecked Sendable {  // only `deinit` touches the file system after init
    let dir: String
    let db: AppDatabase
    let clock: any JobClock
    let queue: SQLiteQueue

    init(clock: any JobClock = SystemJobClock()) throws {
        dir = NSTemporaryDirectory() + "switchyard-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        db = try AppDatabase(options: SQLiteOptions(path: dir + "/test.sqlite"))
        self.clock = clock
        queue = SQLiteQueue(pool: db.pool, clock: clock)
    }

    /// A second, independent connection pool and queue on the same file (as another process would have).
    func secondQueue() throws -> SQLiteQueue {
        let other = try AppDatabase(options: SQLiteOptions(path: dir + "/test.sqlite"))
        return SQLiteQueue(pool: other.pool, clock: clock)
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
