import Foundation

/// Starts child processes one at a time across the whole test process. Foundation's `Process.run()` on Linux is not
/// safe to call from several threads at once: two suites starting python at the same moment crashed the unit test
/// process with a bad pointer in `Process.run()`'s memcpy.
public enum ProcessLaunch {
    private static let lock = NSLock()

    public static func run(_ process: Process) throws {
        lock.lock()
        defer { lock.unlock() }
        try process.run()
    }

    /// Runs `body` (start a process, read all it writes, wait for it) while no other process is started.
    public static func exclusively<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
