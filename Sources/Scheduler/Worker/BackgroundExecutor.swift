import Dispatch
import Foundation
import Synchronization

/// A task executor of its own threads at a lower OS priority (Linux threads each have a nice value). Worker
/// pools that share a process with the gateway run their handlers here, so a busy import or settlement runs in
/// the CPU time the gateway's requests leave, instead of competing with them on the shared cooperative pool.
public final class BackgroundExecutor: TaskExecutor, Sendable {
    private let queue = Mutex<[UnownedJob]>([])
    private let ready = DispatchSemaphore(value: 0)

    /// `threads` threads at niceness `nice` (0 normal, 19 lowest).
    public init(threads: Int = 1, nice: Int32 = 10, name: String = "switchyard-jobs") {
        for index in 0..<max(1, threads) {
            let threadName = "\(name)-\(index)"
            let thread = Thread { [self] in
                // The kernel's name for the thread (what `perf` and `top -H` show): Foundation's `name` does not
                // reach it here, and a new thread otherwise keeps its creator's (often a dispatch worker's).
                try? threadName.prefix(15).write(toFile: "/proc/thread-self/comm", atomically: false, encoding: .utf8)
                Self.lowerPriority(nice)
                var pacer = CPUYield()
                while true {
                    ready.wait()
                    guard let job = queue.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) else { continue }
                    job.runSynchronously(on: asUnownedTaskExecutor())
                    pacer.ifDue()
                }
            }
            thread.name = threadName
            thread.start()
        }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        queue.withLock { $0.append(unowned) }
        ready.signal()
    }

    /// Lowers the calling thread: Linux's `SCHED_IDLE` policy, so a gateway thread that wakes up takes the CPU
    /// from it at once (with a nice value alone, the kernel's EEVDF scheduler lets the running thread finish its
    /// slice first, and the request waits for it), and the nice value in
    /// case the policy cannot be set. The thread is found through `/proc/thread-self` (Swift sees neither gettid
    /// nor syscall). Idle-policy threads still run whenever a core has nothing else to do.
    public static func lowerPriority(_ nice: Int32) {
        var param = sched_param()
        _ = sched_setscheduler(0, schedIdle, &param)
        guard let tid = currentThreadID() else { return }
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(tid), nice)
    }

    /// SCHED_IDLE from <sched.h> (only visible there with _GNU_SOURCE).
    static let schedIdle: Int32 = 5

    /// Whether this process may put a thread back to the normal policy after `SCHED_IDLE` (root, or a nice
    /// limit that allows it); without that, `IdleWork` leaves threads as they are.
    static let canLeaveIdle: Bool = {
        if geteuid() == 0 { return true }
        var limit = rlimit()
        let rlimitNice = __rlimit_resource_t(13)  // RLIMIT_NICE
        return getrlimit(rlimitNice, &limit) == 0 && limit.rlim_cur >= 20
    }()

    /// The calling thread's kernel id (Swift sees neither gettid nor syscall).
    static func currentThreadID() -> Int32? {
        var buffer = [CChar](repeating: 0, count: 64)
        guard readlink("/proc/thread-self", &buffer, buffer.count - 1) > 0 else { return nil }
        return String(cString: buffer).split(separator: "/").last.flatMap { Int32($0) }
    }
}
