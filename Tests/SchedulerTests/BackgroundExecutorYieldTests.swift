import Foundation
import Scheduler
import Testing

/// Background jobs hand the CPU over on their own every `CPUYield.interval` (see `CPUYield`). The yield counter is
/// process-wide and other suites run alongside, so the test asks for far more yields than anything else makes.
@Suite struct BackgroundExecutorYieldTests {
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
