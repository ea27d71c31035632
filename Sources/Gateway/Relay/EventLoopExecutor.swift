import NIOCore
import NIOPosix
import Synchronization

/// Runs a task's jobs on one NIO event loop, so a relayed request's awaits resume on the loop its inbound and
/// upstream connections live on instead of hopping to the global pool and back.
final class EventLoopExecutor: TaskExecutor, @unchecked Sendable {  // immutable after init
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    private static let posixLoops = Mutex<[ObjectIdentifier: Bool]>([:])

    /// Whether `loop` is a NIOPosix loop that can also host client connections (a test server's is not).
    static func canHost(_ loop: any EventLoop) -> Bool {
        let id = ObjectIdentifier(loop as AnyObject)
        if let known = posixLoops.withLock({ $0[id] }) { return known }
        let posix = ClientBootstrap(validatingGroup: loop) != nil
        posixLoops.withLock { $0[id] = posix }
        return posix
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
