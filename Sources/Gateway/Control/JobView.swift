import Scheduler

/// A job as the control plane and `switchyard jobs --json` show it: args and errors as JSON, times in UTC ms.
public struct JobView: Codable, Sendable, Equatable {
    public var id: Int64
    public var kind: String
    public var queue: String
    public var state: String
    public var args: JSONValue
    public var priority: Int
    public var attempt: Int
    public var maxAttempts: Int
    public var runAt: Int64
    public var retryUntil: Int64?
    public var leaseOwner: String?
    public var leaseExpiresAt: Int64?
    public var uniqueKey: String?
    public var errors: [JSONValue]
    public var createdAt: Int64
    public var attemptedAt: Int64?
    public var finalizedAt: Int64?

    enum CodingKeys: String, CodingKey {
        case id, kind, queue, state, args, priority, attempt, errors
        case maxAttempts = "max_attempts"
        case runAt = "run_at"
        case retryUntil = "retry_until"
        case leaseOwner = "lease_owner"
        case leaseExpiresAt = "lease_expires_at"
        case uniqueKey = "unique_key"
        case createdAt = "created_at"
        case attemptedAt = "attempted_at"
        case finalizedAt = "finalized_at"
    }

    public init(_ job: JobRecord) {
        id = job.id
        kind = job.kind
        queue = job.queue
        state = job.state.rawValue
        args = JSONValue(text: job.args) ?? .string(job.args)
        priority = job.priority
        attempt = job.attempt
        maxAttempts = job.maxAttempts
        runAt = job.runAt
        retryUntil = job.retryUntil
        leaseOwner = job.leaseOwner
        leaseExpiresAt = job.leaseExpiresAt
        uniqueKey = job.uniqueKey
        if case .array(let list)? = job.errors.flatMap(JSONValue.init(text:)) { errors = list } else { errors = [] }
        createdAt = job.createdAt
        attemptedAt = job.attemptedAt
        finalizedAt = job.finalizedAt
    }
}

/// A page of jobs with the cursor of the next page.
public struct JobListView: Codable, Sendable {
    public var jobs: [JobView]
    public var nextCursor: String?

    enum CodingKeys: String, CodingKey {
        case jobs
        case nextCursor = "next_cursor"
    }

    public init(_ page: JobPage) {
        jobs = page.jobs.map(JobView.init)
        nextCursor = page.nextCursor.map(String.init)
    }
}

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
