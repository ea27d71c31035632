import Foundation

/// A job kind with its argument type and queue, written once per workflow and used both by the code that enqueues
/// (`job(_:…)`) and by the handler (`arguments(of:)`), so the two cannot drift apart.
public struct JobKind<Args: Codable & Sendable>: Sendable {
    /// The kind's name in the jobs table, e.g. `import.item`.
    public let name: String
    /// The queue its jobs go to by default.
    public let queue: String

    public init(_ name: String, queue: String = "default") {
        self.name = name
        self.queue = queue
    }

    /// A new job of this kind.
    public func job(_ args: Args, priority: Int = 0, maxAttempts: Int = 20, runAt: Int64? = nil, retryUntil: Int64? = nil,
                    uniqueKey: String? = nil) throws -> NewJob {
        try NewJob(kind: name, encoding: args, queue: queue, priority: priority, maxAttempts: maxAttempts, runAt: runAt,
                   retryUntil: retryUntil, uniqueKey: uniqueKey)
    }

    /// The running job's arguments (a job whose arguments do not decode is discarded).
    public func arguments(in context: JobContext) throws -> Args {
        try context.decode(Args.self)
    }
}

/// The arguments of a kind that takes none.
public struct NoArguments: Codable, Sendable, Equatable {
    public init() {}
}
