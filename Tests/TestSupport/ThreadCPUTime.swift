import Foundation

/// Runs `body`, returning its result and the calling thread's CPU seconds in it (not wall time: a thread of a busy
/// test process may wait long between its slices).
public func withThreadCPUTime<T>(_ body: () throws -> T) rethrows -> (T, Double) {
    func cpu() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
    let start = cpu()
    let result = try body()
    return (result, cpu() - start)
}
