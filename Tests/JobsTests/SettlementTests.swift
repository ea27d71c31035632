import Foundation
import GRDB
import Jobs
import Scheduler
@_spi(Engine) import Store
import Testing
import TestSupport

@Suite struct SettlementTests {
    @Test(arguments: [
        (Int64(1), Int64(1_000_000), Int64(1)),
        (1, 1, 1),                       // any positive fraction rounds up to a whole micro-unit
        (0, 5_000_000, 0),
        (7, 0, 0),                       // a free user owes nothing
        (999_999, 1, 1),
        (1_000_000, 1, 1),
        (1_000_001, 1, 2),
        (3, 1_500_000, 5),               // 4.5 → 5
        (10, 1_250_000, 13),             // 12.5 → 13
        (10, 1_200_000, 12),             // exact stays exact
        (123_456_789, 333_333, 41_152_222),
        (9_000_000_000_001, 2_500_001, 22_500_009_000_003),  // cost × ppm overflows Int64; the result does not
    ])
    func settledAmountIsTheCeilingOfCostTimesMultiplier(cost: Int64, ppm: Int64, expected: Int64) throws {
        #expect(try Settlement.settledAmount(cost: cost, ratePpm: ppm) == expected)
    }

    @Test func aResultBeyondInt64IsRefusedNotWrapped() {
        #expect(throws: StoreError.self) { try Settlement.settledAmount(cost: .max / 2, ratePpm: 3_000_000) }
    }

    /// Many users, many multipliers, batches that split users across transactions: each user is debited exactly
    /// the sum of ceil(cost × multiplier) of their logs, and ledger = settled = balance change.
    @Test(arguments: Engine.allCases) func settlesManyUsersExactlyInIdOrder(_ engine: Engine) async throws {
        let f = try await MaintenanceFixture(engine)
        let ppms: [Int64] = [1_000_000, 0, 1, 1_333_333, 2_500_000, 750_000, 999_999, 1_000_001]
        let users = try await f.users((0..<40).map { (ppms[$0 % ppms.count] + Int64($0), nil) })
        var generator = SplitMix(seed: 42)
        try await f.logs((0..<3000).map { _ in (users[Int(generator.next() % 40)], Int64(generator.next() % 20_000)) })

        let settlement = Settlement(db: f.db, clock: f.clock, batchSize: 97)
        let batches = try await settlement.settleAll()
        #expect(batches.count == (3000 + 96) / 97)
        #expect(zip(batches, batches.dropFirst()).allSatisfy { $0.throughLogId == $1.afterLogId }, "batches follow id order")

        let expected = try await f.expectedDebits()
        let used = try await f.usedByUser()
        for user in users { #expect(used[user] == (expected[user] ?? 0), "user \(user)") }
        let books = try await f.books()
        let total = expected.values.reduce(0, +)
        #expect(books == .init(ledger: total, checkpointAmount: total, used: total, settledLogs: 3000, lastLogId: 3000))
        #expect(batches.reduce(0) { $0 + $1.amount } == total)

        // Settling again settles nothing; new logs are settled on the next run, and only they.
        #expect(try await settlement.settleAll().isEmpty)
        try await f.logs([(users[3], 1), (users[3], 1)])
        let again = try await settlement.settleAll()
        #expect(again.map(\.logs) == [2])
        #expect(try await f.books().used == total + 2 * (try Settlement.settledAmount(cost: 1, ratePpm: ppms[3] + 3)))
    }

    /// Four settlers on four connection pools (as four processes would be) race over the same logs: each log is
    /// settled once, the ledger's ranges never overlap, and the books agree.
    @Test(arguments: Engine.allCases) func racingSettlersSettleEachLogOnce(_ engine: Engine) async throws {
        let f = try await MaintenanceFixture(engine)
        let users = try await f.users((0..<25).map { (1_000_000 + Int64($0) * 37_337, nil) })
        try await f.logs((0..<6000).map { (users[$0 % 25], Int64(1 + ($0 * 7919) % 3000)) })
        let handles = [f.db] + (try (0..<3).map { _ in try f.secondHandle() })
        let settled = try await withThrowingTaskGroup(of: Int.self) { group in
            for handle in handles {
                group.addTask { try await Settlement(db: handle, batchSize: 100).settleAll().reduce(0) { $0 + $1.logs } }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(settled.reduce(0, +) == 6000, "every log settled once in all: \(settled)")
        let total = try await f.expectedDebits().values.reduce(0, +)
        #expect(try await f.books() == .init(ledger: total, checkpointAmount: total, used: total, settledLogs: 6000, lastLogId: 6000))
        let ranges = try await f.db.read { db in
            try SQLRow.fetchAll(db, sql: "SELECT DISTINCT after_log_id, through_log_id FROM ledger ORDER BY after_log_id")
                .map { (try $0.get(0, as: Int64.self), try $0.get(1, as: Int64.self)) }
        }
        #expect(ranges.first?.0 == 0 && ranges.last?.1 == 6000)
        #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.1 == $1.0 }, "ledger ranges tile the log ids without overlap")
    }

    /// Settling while writers commit usage logs (four writer handles, as four gateways would be): a log committed
    /// after the settler passed its id is still settled, once. On PostgreSQL ids come from a sequence before commit,
    /// so without the settler's lock a late commit below the checkpoint would never be settled.
    @Test(arguments: Engine.allCases) func logsCommittedDuringSettlementAreSettledOnce(_ engine: Engine) async throws {
        let f = try await MaintenanceFixture(engine)
        _ = try await f.users((0..<10).map { (1_000_000 + Int64($0) * 50_000, nil) })
        let writers = try (0..<4).map { _ in try f.secondHandle() }
        let done = Locked(false)
        let settler = Task {
            var logs = 0
            while !done.value { logs += try await Settlement(db: f.db, batchSize: 50).settleAll().reduce(0) { $0 + $1.logs } }
            return logs
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in writers {
                group.addTask { for _ in 0..<40 { try await writer.writeBenchUsageBatch(25, users: 10) } }
            }
            try await group.waitForAll()
        }
        done.update { $0 = true }
        let settled = try await settler.value + Settlement(db: f.db).settleAll().reduce(0) { $0 + $1.logs }
        #expect(settled == 4 * 40 * 25, "every log settled once")
        let total = try await f.expectedDebits().values.reduce(0, +)
        let books = try await f.books()
        #expect(books.ledger == total && books.checkpointAmount == total && books.used == total && books.settledLogs == 4000)
    }

    /// Two `usage.settle` jobs running at once on two handles: their artifacts add up to every log, once.
    @Test(arguments: Engine.allCases) func twoRacingSettleJobsSplitTheWork(_ engine: Engine) async throws {
        let f = try await MaintenanceFixture(engine)
        let users = try await f.users([(1_500_000, nil), (1_000_000, nil), (333_333, nil)])
        try await f.logs((0..<4000).map { (users[$0 % 3], Int64($0 % 1000)) })
        let other = try f.secondHandle()
        async let a = SettleJob(db: f.db, artifacts: f.artifacts, clock: f.clock).run(jobContext(kind: "usage.settle", id: 1, args: #"{"batch_size":200}"#))
        async let b = SettleJob(db: other, artifacts: f.artifacts, clock: f.clock).run(jobContext(kind: "usage.settle", id: 2, args: #"{"batch_size":200}"#))
        #expect(try await [a, b] == [.completed, .completed])
        var logs = 0
        for id in [Int64(1), 2] {
            guard let folder = f.artifacts.existing(kind: "usage.settle", id: String(id)) else { continue }
            logs += try await ArtifactCheck.validSummary(in: folder, kind: "usage.settle")["logs_settled"] as! Int
        }
        #expect(logs == 4000)
        let total = try await f.expectedDebits().values.reduce(0, +)
        #expect(try await f.books() == .init(ledger: total, checkpointAmount: total, used: total, settledLogs: 4000, lastLogId: 4000))
    }

    /// A balance that runs out is marked (and reported); raising the quota clears the mark on the next run.
    @Test(arguments: Engine.allCases) func aBalanceRunningOutIsMarkedAndClearedWhenRaised(_ engine: Engine) async throws {
        let f = try await MaintenanceFixture(engine)
        let users = try await f.users([(2_000_000, 100), (1_000_000, 1000), (1_000_000, nil)])
        try await f.logs([(users[0], 30), (users[1], 30), (users[2], 5000), (users[0], 20)])  // user 0 owes 60 + 40
        let job = SettleJob(db: f.db, artifacts: f.artifacts, clock: f.clock)
        #expect(try await job.run(jobContext(kind: "usage.settle", id: 7)) == .completed)
        let summary = try await ArtifactCheck.validSummary(in: try ArtifactCheck.folder(f.artifacts, kind: "usage.settle", id: 7), kind: "usage.settle")
        #expect(summary["users_exhausted"] as? [Int] == [Int(users[0])])
        #expect(summary["amount_settled"] as? Int == 100 + 30 + 5000 && summary["logs_settled"] as? Int == 4)
        let marked = try await f.db.read { db in try User.fetchAll(db).map { ($0.used, $0.exhaustedAt) } }
        #expect(marked.map(\.0) == [100, 30, 5000])
        #expect(marked.map { $0.1 != nil } == [true, false, false])

        try await f.db.write { db in try db.execute(sql: "UPDATE users SET quota = 1000 WHERE id = ?", arguments: [users[0]]) }
        _ = try await job.run(jobContext(kind: "usage.settle", id: 8))
        #expect(try await f.db.read { db in try User.fetchOne(db, key: users[0])?.exhaustedAt } == nil)
        #expect(f.artifacts.existing(kind: "usage.settle", id: "8") == nil, "an idle run leaves no artifact")
    }
}

/// A small deterministic random number generator, so a failing case can be replayed.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
