import Dispatch
import Foundation
import Synchronization

/// Hands the CPU over, every `interval` of background work, to any thread waiting for it on the same core.
///
/// `SCHED_IDLE` alone is not enough on every kernel: a `PREEMPT_NONE` kernel that packs threads onto busy vCPUs lets
/// an idle-policy thread that never blocks delay a woken gateway thread on the same vCPU, where one that calls
/// `sched_yield` every `interval` does not. Background work therefore also yields on its own: between a job's slices on `BackgroundExecutor`
/// threads, and from SQLite's progress handler during background database work. A yield with nobody waiting
/// returns at once (about a microsecond); checking the clock costs tens of nanoseconds.
public struct CPUYield {
    /// How much background work runs between two yields.
    public static let interval = Duration.microseconds(100)
    /// Yields made by every pacer of the process (tests read it).
    public static let count = Atomic<Int>(0)

    private var last = ContinuousClock.now

    public init() {}

    /// Yields if `interval` has passed since this pacer's last yield.
    public mutating func ifDue() {
        guard ContinuousClock.now - last >= Self.interval else { return }
        sched_yield()
        Self.count.add(1, ordering: .relaxed)
        last = .now
    }
}
