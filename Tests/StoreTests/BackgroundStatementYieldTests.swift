import Foundation
import GRDB
import Scheduler
@_spi(Engine) @testable import Store
import Testing
import TestSupport

/// Background database work hands the CPU over on its own every `CPUYield.interval`, from SQLite's progress handler.
/// The yield counter is process-wide and other suites run alongside, so the test asks for at least half the yields
/// its own work must make (hundreds), far more than anything else in the test process makes in that time.
@Suite struct BackgroundStatementYieldTests {
    /// Yields `seconds` of CPU time must make at the pacer's interval, halved for slack.
    func expectedYields(during seconds: Double) -> Int {
        Int(Duration.seconds(seconds) / CPUYield.interval / 2)
    }

    /// A long statement in a background read, opened beside a gateway, yields from SQLite's progress handler;
    /// the same statement in an ordinary read does not run under the handler (it is removed afterwards).
    @Test func aLongBackgroundStatementYields() async throws {
        let dir = NSTemporaryDirectory() + "yield-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let db = try AppDatabase.open(dataDir: dir, qos: .background)
        let count = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000) SELECT count(*) FROM c"

        let before = CPUYield.count.load(ordering: .relaxed)
        let (rows, seconds) = try await db.backgroundRead { db in try withThreadCPUTime { try Int.fetchOne(db, sql: count) } }
        let yields = CPUYield.count.load(ordering: .relaxed) - before
        #expect(rows == 2_000_000)
        #expect(yields >= expectedYields(during: seconds), "\(yields) yields in \(seconds) s")

        let beforePlain = CPUYield.count.load(ordering: .relaxed)
        let (_, plainSeconds) = try await db.pool.read { db in try withThreadCPUTime { try Int.fetchOne(db, sql: count) } }
        let plainYields = CPUYield.count.load(ordering: .relaxed) - beforePlain
        #expect(plainYields < expectedYields(during: plainSeconds), "\(plainYields) yields in \(plainSeconds) s")
    }
}
