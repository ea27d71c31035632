import Foundation
import Synchronization
import Testing
@testable import Scheduler

/// Background database work runs under `SCHED_IDLE` while it holds SQLite's write lock; a foreground writer lifts
/// it (`IdleWork.boost`) so a saturated machine cannot starve the lock holder while a request's write waits.
@Suite struct IdlePriorityTests {
    static let schedIdle: Int32 = 5

    @Test(.enabled(if: BackgroundExecutor.canLeaveIdle, "needs root or RLIMIT_NICE to leave SCHED_IDLE"))
    func boostLiftsAThreadInsideWhileIdleUntilItsWorkEnds() async throws {
        // The test side never blocks a thread of Swift's cooperative pool (an idle-policy thread on a loaded
        // machine may take seconds to run): it polls, and only the worker thread waits on the semaphore.
        let work = IdleWork()   // its own: other suites' foreground writes boost their databases' work, not this
        let release = DispatchSemaphore(value: 0)
        let stage = Mutex<(tid: Int32?, step: Int)>((nil, 0))
        let thread = Thread {
            work.run {
                stage.withLock { $0 = (BackgroundExecutor.currentThreadID(), 1) }
                release.wait()
            }
            stage.withLock { $0.step = 2 }
            release.wait()
        }
        thread.start()
        #expect(await eventually(timeout: .seconds(60)) { stage.withLock { $0.step == 1 } })
        let id = try #require(stage.withLock { $0.tid })
        #expect(sched_getscheduler(id) == Self.schedIdle, "lowered inside run")
        work.boost()
        #expect(sched_getscheduler(id) == 0, "boosted back to SCHED_OTHER")
        release.signal()
        #expect(await eventually(timeout: .seconds(60)) { stage.withLock { $0.step == 2 } })
        #expect(sched_getscheduler(id) == 0, "normal after run")
        release.signal()
    }

    @Test(.enabled(if: BackgroundExecutor.canLeaveIdle, "needs root or RLIMIT_NICE to leave SCHED_IDLE"))
    func runLowersAndRestores() {
        let inside = IdleWork().run { sched_getscheduler(0) }
        #expect(inside == Self.schedIdle)
        #expect(sched_getscheduler(0) != Self.schedIdle)
    }
}
