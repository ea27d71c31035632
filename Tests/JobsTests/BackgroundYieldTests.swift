import Foundation
import GRDB
import Scheduler
@_spi(Engine) @testable import Store
import Testing

/// Background work hands the CPU over on its own every `CPUYield.interval` (see `CPUYield`). The yield counter is
/// process-wide and other suites run alongside, so each test asks for at least half the yields its own work must
/// make (hundreds), far more than anything else in the test process makes in that time. Work is counted in the
/// thread's CPU time, not wall time: an idle-policy thread in a busy test process may wait long between slices.
@Suite struct BackgroundYieldTests {
    /// Yields `seconds` of CPU time must make at the pacer's interval, halved for slack.
    func expectedYields(during seconds: Double) -> Int {
        Int(Duration.seconds(seconds) / CPUYield.interval / 2)
    }

    /// Runs `body`, returning its result and the calling thread's CPU seconds in it.
    static func timed<T>(_ body: () throws -> T) rethrows -> (T, Double) {
        func cpu() -> Double {
            var time = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
            return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
        }
        let start = cpu()
        let result = try body()
        return (result, cpu() - start)
    }

    /// A long statement in a background read, opened beside a gateway, yields from SQLite's progress handler;
    /// the same statement in an ordinary read does not run under the handler (it is removed afterwards).
    @Test func aLongBackgroundStatementYields() async throws {
        let dir = NSTemporaryDirectory() + "yield-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let db = try AppDatabase.open(dataDir: dir, qos: .background)
        let count = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000) SELECT count(*) FROM c"

        let before = CPUYield.count.load(ordering: .relaxed)
        let (rows, seconds) = try await db.backgroundRead { db in try Self.timed { try Int.fetchOne(db, sql: count) } }
        let yields = CPUYield.count.load(ordering: .relaxed) - before
        #expect(rows == 2_000_000)
        #expect(yields >= expectedYields(during: seconds), "\(yields) yields in \(seconds) s")

        let beforePlain = CPUYield.count.load(ordering: .relaxed)
        let (_, plainSeconds) = try await db.pool.read { db in try Self.timed { try Int.fetchOne(db, sql: count) } }
        let plainYields = CPUYield.count.load(ordering: .relaxed) - beforePlain
        #expect(plainYields < expectedYields(during: plainSeconds), "\(plainYields) yields in \(plainSeconds) s")
    }

    /// A job on a `BackgroundExecutor` that computes in slices longer than the interval yields after each one.
    @Test func backgroundExecutorYieldsBetweenSlices() async throws {
        let executor = BackgroundExecutor(threads: 1, name: "yield-test")
        let before = CPUYield.count.load(ordering: .relaxed)
        let total = await Task(executorPreference: executor) {
            var sum = 0
            for slice in 0..<2_000 {
                let end = ContinuousClock.now + .microseconds(150)
                while ContinuousClock.now < end { sum &+= slice }
                await Task.yield()
            }
            return sum
        }.value
        let yields = CPUYield.count.load(ordering: .relaxed) - before
        #expect(total != 0)
        #expect(yields >= 2_000, "\(yields) yields after 2,000 slices of 150 µs")
    }
}
