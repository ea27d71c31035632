import Artifacts
import Foundation
import GRDB
import Jobs
import Logging
import Scheduler
@_spi(Engine) import Store
import Testing
import TestSupport

/// A fresh store on one engine and an artifacts folder in a temp directory, removed when the test ends.
final class MaintenanceFixture: @unchecked Sendable {  // set up in init, then only read
    let store: TestStore
    var dir: String { store.dir }
    var db: AppDatabase { store.db }
    let clock: ManualWallClock
    let artifacts: ArtifactWriter

    init(_ engine: Engine = .sqlite) async throws {
        let clock = ManualWallClock()
        self.clock = clock
        store = try await TestStore(engine, clock: clock)
        artifacts = ArtifactWriter(root: URL(fileURLWithPath: store.dir + "/artifacts"), now: { clock.nowMillis() })
    }

    /// Another handle on the same database, as a second process would have.
    func secondHandle() throws -> AppDatabase { try store.secondHandle() }

    /// Inserts users with the given multipliers (ppm) and quotas; returns their ids in order.
    func users(_ specs: [(ppm: Int64, quota: Int64?)]) async throws -> [Int64] {
        try await db.write { db in
            try specs.enumerated().map { index, spec in
                var user = User(name: "u\(index)", quota: spec.quota, rateMultiplierPpm: spec.ppm, now: 0)
                try user.insert(db)
                return user.id!
            }
        }
    }

    /// Inserts usage logs (user, cost) in order, as the record writer would.
    func logs(_ entries: [(user: Int64, cost: Int64)]) async throws {
        try await db.write { db in
            for (user, cost) in entries {
                var log = UsageLog(requestId: UUID().uuidString, userId: user, keyId: 1, channelId: 1, model: "m",
                                   promptTokens: 1, completionTokens: 1, cost: cost, createdAt: 0)
                try log.insert(db)
            }
        }
    }

    /// The totals that must agree after settlement.
    struct Books: Equatable {
        var ledger: Int64
        var checkpointAmount: Int64
        var used: Int64
        var settledLogs: Int64
        var lastLogId: Int64
    }

    func books() async throws -> Books {
        try await db.read { db in
            let checkpoint = try SQLRow.fetchOne(db, sql: "SELECT * FROM settlement_checkpoint")!
            return Books(
                ledger: try Int64.fetchOne(db, sql: "SELECT coalesce(sum(amount), 0) FROM ledger")!,
                checkpointAmount: try checkpoint["settled_amount"], used: try Int64.fetchOne(db, sql: "SELECT sum(used) FROM users")!,
                settledLogs: try checkpoint["settled_logs"], lastLogId: try checkpoint["last_log_id"])
        }
    }

    /// What each user should owe, computed here from the logs with the plain formula ceil(cost × ppm / 1e6).
    func expectedDebits() async throws -> [Int64: Int64] {
        try await db.read { db in
            var owed: [Int64: Int64] = [:]
            for row in try SQLRow.fetchAll(db, sql: "SELECT l.user_id, l.cost, u.rate_multiplier_ppm FROM usage_logs l JOIN users u ON u.id = l.user_id") {
                let cost: Int64 = try row[1], ppm: Int64 = try row[2]
                owed[try row[0], default: 0] += (cost * ppm + 999_999) / 1_000_000
            }
            return owed
        }
    }

    func usedByUser() async throws -> [Int64: Int64] {
        try await db.read { db in
            Dictionary(uniqueKeysWithValues: try SQLRow.fetchAll(db, sql: "SELECT id, used FROM users").map { (try $0.get(0, as: Int64.self), try $0.get(1, as: Int64.self)) })
        }
    }
}

/// A job context as a worker would hand it to a handler.
func jobContext(kind: String, id: Int64, args: String = "{}") -> JobContext {
    var logger = Logger(label: "test")
    logger.logLevel = .warning
    let job = ClaimedJob(id: id, kind: kind, queue: "maintenance", args: args, priority: 0, attempt: 1, maxAttempts: 3,
                         retryUntil: nil, leaseToken: 1, leaseExpiresAt: .max)
    return JobContext(job: job, logger: logger)
}
