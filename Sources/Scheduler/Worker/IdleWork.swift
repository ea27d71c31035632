import Foundation
import Synchronization

/// Work that runs under Linux's `SCHED_IDLE` policy while it holds a shared resource (one per database: its write
/// lock), and the boost that lifts it when someone in the foreground waits for that resource.
///
/// An idle-policy thread takes the CPU only when nothing else wants it, which keeps background database work out of
/// a gateway's way; but while it holds SQLite's write lock, a saturated machine can leave it without CPU for
/// seconds while a request's write waits behind it (priority inversion). `boost()` is priority inheritance by
/// hand: it puts this resource's idle holders back to their normal policy for the rest of their current work.
public final class IdleWork: Sendable {
    /// Threads inside `run` now (thread id → the policy to restore), guarded so a boost cannot slip between a
    /// thread's lowering and its registration.
    private let holders = Mutex<[Int32: Int32]>([:])

    public init() {}

    /// Runs `body` with the calling thread under `SCHED_IDLE`, then puts it back (as it is where the process may not
    /// leave the idle policy again).
    public func run<T>(_ body: () throws -> T) rethrows -> T {
        let previous = sched_getscheduler(0)
        guard BackgroundExecutor.canLeaveIdle, previous >= 0, previous != BackgroundExecutor.schedIdle,
              let tid = BackgroundExecutor.currentThreadID() else { return try body() }
        let lowered = holders.withLock { holders -> Bool in
            var param = sched_param()
            guard sched_setscheduler(0, BackgroundExecutor.schedIdle, &param) == 0 else { return false }
            holders[tid] = previous
            return true
        }
        guard lowered else { return try body() }
        defer {
            holders.withLock { holders in
                holders[tid] = nil
                var normal = sched_param()
                _ = sched_setscheduler(0, previous, &normal)
            }
        }
        return try body()
    }

    /// Lifts every thread inside `run` back to its normal policy until its work ends. Costs one uncontended lock
    /// when no background work is running.
    public func boost() {
        holders.withLock { holders in
            for (tid, policy) in holders {
                var param = sched_param()
                _ = sched_setscheduler(tid, policy, &param)
            }
        }
    }
}
