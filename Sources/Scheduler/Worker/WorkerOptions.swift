import Foundation

/// How a worker pool claims and runs the jobs of one queue.
public struct WorkerOptions: Sendable {
    public var queue: String
    /// How many jobs run at once.
    public var concurrency: Int
    /// The most jobs claimed in one transaction.
    public var batchSize: Int
    /// How long a claim holds a job without a heartbeat.
    public var leaseTTL: Duration
    /// How often an idle worker looks for work other processes enqueued.
    public var pollInterval: Duration
    /// How long completions may wait to be written together with the next claim.
    public var maxAckDelay: Duration
    /// How long running jobs may finish after a shutdown request before they are cancelled and released.
    public var drainTimeout: Duration
    public var retry: RetryPolicy
    /// The lease owner written on claimed rows: host, process and pool.
    public var owner: String
    /// Called on worker events; for benchmarks and tests.
    public var onEvent: (@Sendable (WorkerEvent) -> Void)?
    /// The priority handler tasks run at; a daemon that also serves the gateway runs jobs below it.
    public var priority: TaskPriority?
    /// Where handler tasks run (e.g. a `BackgroundExecutor` beside a gateway); nil: the default executor.
    public var executor: (any TaskExecutor)?

    public init(
        queue: String = "default",
        concurrency: Int = 10,
        batchSize: Int = 100,
        leaseTTL: Duration = .seconds(30),
        pollInterval: Duration = .milliseconds(50),
        maxAckDelay: Duration = .milliseconds(5),
        drainTimeout: Duration = .seconds(10),
        retry: RetryPolicy = RetryPolicy(),
        owner: String? = nil,
        onEvent: (@Sendable (WorkerEvent) -> Void)? = nil,
        priority: TaskPriority? = nil,
        executor: (any TaskExecutor)? = nil
    ) {
        self.priority = priority
        self.executor = executor
        self.queue = queue
        self.concurrency = max(1, concurrency)
        self.batchSize = max(1, batchSize)
        self.leaseTTL = leaseTTL
        self.pollInterval = pollInterval
        self.maxAckDelay = maxAckDelay
        self.drainTimeout = drainTimeout
        self.retry = retry
        self.owner = owner ?? Self.defaultOwner(queue: queue)
        self.onEvent = onEvent
    }

    /// `host:pid:queue:random`, unique per pool.
    public static func defaultOwner(queue: String) -> String {
        let host = ProcessInfo.processInfo.hostName
        let pid = ProcessInfo.processInfo.processIdentifier
        return "\(host):\(pid):\(queue):\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
    }
}

/// Something a worker pool did; see `WorkerOptions.onEvent`.
public enum WorkerEvent: Sendable {
    /// One fetch transaction: how long it took (lock wait included), jobs claimed and acks written.
    case fetched(duration: Duration, claimed: Int, acked: Int)
    /// A job's handler is about to run.
    case started(ClaimedJob)
    /// A job's ack was applied.
    case finished(JobLease, JobAck.Outcome)
    /// A lease was found lost (taken over or cancelled); the worker wrote nothing for it.
    case leaseLost(JobLease)
    /// A fetch transaction failed; the acks are kept and retried.
    case fetchFailed(any Error)
}
