import Foundation

/// A job to put on the queue.
public struct NewJob: Sendable, Equatable {
    /// The handler kind, e.g. `import.item`.
    public var kind: String
    /// The job's arguments as JSON text.
    public var args: String
    /// The queue a worker pool claims from.
    public var queue: String
    /// Lower runs first (0 is the most urgent).
    public var priority: Int
    /// The number of attempts before the job is discarded.
    public var maxAttempts: Int
    /// When the job becomes due (UTC ms); `nil` means now.
    public var runAt: Int64?
    /// The end of the job's retry window (UTC ms): no retry is scheduled past it.
    public var retryUntil: Int64?
    /// A key that refuses a second live job with the same key.
    public var uniqueKey: String?

    public init(
        kind: String,
        args: String = "{}",
        queue: String = "default",
        priority: Int = 0,
        maxAttempts: Int = 20,
        runAt: Int64? = nil,
        retryUntil: Int64? = nil,
        uniqueKey: String? = nil
    ) {
        self.kind = kind
        self.args = args
        self.queue = queue
        self.priority = priority
        self.maxAttempts = maxAttempts
        self.runAt = runAt
        self.retryUntil = retryUntil
        self.uniqueKey = uniqueKey
    }

    /// A job whose arguments are the JSON encoding of `args`.
    public init<Args: Encodable>(
        kind: String,
        encoding args: Args,
        queue: String = "default",
        priority: Int = 0,
        maxAttempts: Int = 20,
        runAt: Int64? = nil,
        retryUntil: Int64? = nil,
        uniqueKey: String? = nil
    ) throws {
        let data = try JSONEncoder.sortedKeys.encode(args)
        self.init(
            kind: kind, args: String(decoding: data, as: UTF8.self), queue: queue, priority: priority,
            maxAttempts: maxAttempts, runAt: runAt, retryUntil: retryUntil, uniqueKey: uniqueKey)
    }

    /// Checks what SQL cannot check cheaply; throws `SchedulerError.invalidJob`.
    public func validate() throws {
        if kind.isEmpty || kind.count > 200 { throw SchedulerError.invalidJob("kind must be 1 to 200 characters") }
        if queue.isEmpty || queue.count > 200 { throw SchedulerError.invalidJob("queue must be 1 to 200 characters") }
        if maxAttempts < 1 { throw SchedulerError.invalidJob("max_attempts must be at least 1") }
        if let key = uniqueKey, key.isEmpty { throw SchedulerError.invalidJob("unique_key must not be empty") }
    }
}

/// What happened to one job handed to `enqueue`.
public struct EnqueueResult: Sendable, Equatable, Codable {
    /// The id of the new job, or of the live job that holds the same unique key.
    public var id: Int64
    /// True when a live job with the same unique key already existed ("already enqueued").
    public var duplicate: Bool

    public init(id: Int64, duplicate: Bool) {
        self.id = id
        self.duplicate = duplicate
    }
}

extension JSONEncoder {
    /// An encoder with stable key order, so the same value always encodes to the same text.
    public static var sortedKeys: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
