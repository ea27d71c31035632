import Foundation
import Synchronization
import Testing
@testable import Scheduler

/// Background database work runs under `SCHED_IDLE` while it holds SQLite's write lock; a foreground writer lifts
/// it (`boostIdleWork`) so a saturated machine cannot starve the lock holder while a request's write waits.
@Suite struct IdlePriorityTests {
    static let schedIdle: Int32 = 5

    @Test(.enabled(if: BackgroundExecutor.canLeaveIdle, "needs root or RLIMIT_NICE to leave SCHED_IDLE"))
    func boostLiftsAThreadInsideWhileIdleUntilItsWorkEnds() async throws {
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let tid = Mutex<Int32?>(nil)
        let thread = Thread {
            BackgroundExecutor.whileIdle {
                tid.withLock { $0 = BackgroundExecutor.currentThreadID() }
                entered.signal()
                release.wait()
            }
            entered.signal()
            release.wait()
        }
        thread.start()
        entered.wait()
        let id = try #require(tid.withLock { $0 })
        #expect(sched_getscheduler(id) == Self.schedIdle, "lowered inside whileIdle")
        BackgroundExecutor.boostIdleWork()
        #expect(sched_getscheduler(id) == 0, "boosted back to SCHED_OTHER")
        release.signal()
        entered.wait()
        #expect(sched_getscheduler(id) == 0, "normal after whileIdle")
        release.signal()
    }

    @Test(.enabled(if: BackgroundExecutor.canLeaveIdle, "needs root or RLIMIT_NICE to leave SCHED_IDLE"))
    func whileIdleLowersAndRestores() {
        let inside = BackgroundExecutor.whileIdle { sched_getscheduler(0) }
        #expect(inside == Self.schedIdle)
        #expect(sched_getscheduler(0) != Self.schedIdle)
    }
}
