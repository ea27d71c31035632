import NIOConcurrencyHelpers
import NIOPosix
import NIOCore

/// An event loop as a Swift task executor: a request's task that prefers it runs all its nonisolated code there.
///
/// With NIO's loops installed as the global executor, a job runs "on" its loop's serial executor, so every entry
/// into a nonisolated async function (which formally asks for the generic executor) counted as a switch and sent
/// the task back through the loop's queue: a dozen queue round trips per relayed request. A task that prefers
/// this executor is already where the generic executor's work goes, and keeps running instead.
final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {  // immutable
    let eventLoop: any EventLoop

    private init(_ eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    private static let executors = NIOLockedValueBox<[ObjectIdentifier: EventLoopTaskExecutor]>([:])

    /// The executor of `eventLoop` (one per loop, kept for the process's life: loops are few and long-lived).
    static func of(_ eventLoop: any EventLoop) -> EventLoopTaskExecutor {
        executors.withLockedValue { map in
            let id = ObjectIdentifier(eventLoop as AnyObject)
            if let known = map[id] { return known }
            let made = EventLoopTaskExecutor(eventLoop)
            map[id] = made
            return made
        }
    }
}

/// NIO's singleton event loops as one Swift task executor: a job runs on the loop it was enqueued from (or the
/// next one), as with the loops installed as the global executor, but a task that prefers this executor is already
/// where its nonisolated async calls run, so they do not re-enqueue it.
public final class EventLoopGroupTaskExecutor: TaskExecutor, @unchecked Sendable {  // stateless
    public static let singleton = EventLoopGroupTaskExecutor()

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        MultiThreadedEventLoopGroup.singleton.any().execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
