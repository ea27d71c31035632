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
            let thread = Thread { [self] in
                Self.lowerPriority(nice)
                while true {
                    ready.wait()
                    guard let job = queue.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) else { continue }
                    job.runSynchronously(on: asUnownedTaskExecutor())
                }
            }
            thread.name = "\(name)-\(index)"
            thread.start()
        }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        queue.withLock { $0.append(unowned) }
        ready.signal()
    }

    /// Lowers the calling thread (found through `/proc/thread-self`: Swift sees neither gettid nor syscall).
    public static func lowerPriority(_ nice: Int32) {
        var buffer = [CChar](repeating: 0, count: 64)
        guard readlink("/proc/thread-self", &buffer, buffer.count - 1) > 0,
              let tid = String(cString: buffer).split(separator: "/").last.flatMap({ UInt32($0) }) else { return }
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(tid), nice)
    }
}
