import Scheduler

/// A schedule as `GET /api/schedules` shows it.
public struct ScheduleView: Codable, Sendable, Equatable {
    public var name: String
    public var kind: String
    public var queue: String
    public var intervalS: Double
    public var enabled: Bool
    public var lastSlotAt: Int64?
    public var lastJobId: Int64?
    public var nextRunAt: Int64

    enum CodingKeys: String, CodingKey {
        case name, kind, queue, enabled
        case intervalS = "interval_s"
        case lastSlotAt = "last_slot_at"
        case lastJobId = "last_job_id"
        case nextRunAt = "next_run_at"
    }

    public init(_ record: ScheduleRecord) {
        name = record.name
        kind = record.kind
        queue = record.queue
        intervalS = Double(record.intervalMs) / 1000
        enabled = record.enabled
        lastSlotAt = record.lastSlotAt
        lastJobId = record.lastJobId
        nextRunAt = record.nextRunAt
    }
}

/// The body of `POST /api/jobs` and of `switchyard jobs enqueue`.
public struct EnqueueRequest: Codable, Sendable {
    public var kind: String
    public var args: JSONValue?
    public var queue: String?
    public var priority: Int?
    public var maxAttempts: Int?
    /// Delay before the job is due, in seconds.
    public var runInS: Double?
    /// Length of the retry window from now, in seconds.
    public var retryWindowS: Double?
    public var uniqueKey: String?

    enum CodingKeys: String, CodingKey {
        case kind, args, queue, priority
        case maxAttempts = "max_attempts"
        case runInS = "run_in_s"
        case retryWindowS = "retry_window_s"
        case uniqueKey = "unique_key"
    }

    public init(kind: String, args: JSONValue? = nil, queue: String? = nil, priority: Int? = nil, maxAttempts: Int? = nil,
                runInS: Double? = nil, retryWindowS: Double? = nil, uniqueKey: String? = nil) {
        self.kind = kind
        self.args = args
        self.queue = queue
        self.priority = priority
        self.maxAttempts = maxAttempts
        self.runInS = runInS
        self.retryWindowS = retryWindowS
        self.uniqueKey = uniqueKey
    }

    /// The job to insert, with times resolved against `now` (UTC ms).
    public func newJob(now: Int64) -> NewJob {
        NewJob(
            kind: kind, args: args?.text ?? "{}", queue: queue ?? "default", priority: priority ?? 0,
            maxAttempts: maxAttempts ?? 20, runAt: runInS.map { now + Int64($0 * 1000) },
            retryUntil: retryWindowS.map { now + Int64($0 * 1000) }, uniqueKey: uniqueKey)
    }
}

/// The answer to an enqueue: the job's id, and whether a live job with the same unique key already existed.
public struct EnqueueResultView: Codable, Sendable {
    public var id: Int64
    public var duplicate: Bool
    public var message: String

    public init(_ result: EnqueueResult) {
        id = result.id
        duplicate = result.duplicate
        message = result.duplicate ? "already enqueued" : "enqueued"
    }
}

/// The body of `GET /api/schedules`.
public struct ScheduleListView: Codable, Sendable {
    public var schedules: [ScheduleView]

    public init(schedules: [ScheduleView]) { self.schedules = schedules }
}

/// The body of `PATCH /api/schedules/{name}`.
public struct SchedulePatch: Codable, Sendable {
    public var intervalS: Double?
    public var enabled: Bool?

    enum CodingKeys: String, CodingKey {
        case enabled
        case intervalS = "interval_s"
    }

    public init(intervalS: Double? = nil, enabled: Bool? = nil) {
        self.intervalS = intervalS
        self.enabled = enabled
    }
}
