import GRDB

/// One job, as stored and as the control plane and `switchyard jobs --json` show it: args and errors as JSON,
/// times in UTC milliseconds.
public struct JobRecord: Sendable, Codable, Equatable, FetchableRecord {
    public var id: Int64
    public var kind: String
    public var queue: String
    public var args: JSONValue
    public var state: JobState
    public var priority: Int
    public var attempt: Int
    public var maxAttempts: Int
    public var runAt: Int64
    public var retryUntil: Int64?
    public var leaseOwner: String?
    public var leaseExpiresAt: Int64?
    public var uniqueKey: String?
    /// The last errors, oldest first: `{at, attempt, error}`.
    public var errors: [JSONValue]
    public var createdAt: Int64
    public var attemptedAt: Int64?
    public var finalizedAt: Int64?

    enum CodingKeys: String, CodingKey {
        case id, kind, queue, args, state, priority, attempt, errors
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

    /// Decodes a row of `SELECT \(columns)`; the JSON columns are parsed here.
    public init(row: Row) throws {
        id = row[CodingKeys.id.rawValue]
        kind = row[CodingKeys.kind.rawValue]
        queue = row[CodingKeys.queue.rawValue]
        let argsText: String = row[CodingKeys.args.rawValue]
        args = JSONValue(text: argsText) ?? .string(argsText)
        guard let state = JobState(rawValue: row[CodingKeys.state.rawValue]) else {
            throw SchedulerError.database("job \(id) has an unknown state")
        }
        self.state = state
        priority = row[CodingKeys.priority.rawValue]
        attempt = row[CodingKeys.attempt.rawValue]
        maxAttempts = row[CodingKeys.maxAttempts.rawValue]
        runAt = row[CodingKeys.runAt.rawValue]
        retryUntil = row[CodingKeys.retryUntil.rawValue]
        leaseOwner = row[CodingKeys.leaseOwner.rawValue]
        leaseExpiresAt = row[CodingKeys.leaseExpiresAt.rawValue]
        uniqueKey = row[CodingKeys.uniqueKey.rawValue]
        let errorsText: String? = row[CodingKeys.errors.rawValue]
        if case .array(let list)? = errorsText.flatMap(JSONValue.init(text:)) { errors = list } else { errors = [] }
        createdAt = row[CodingKeys.createdAt.rawValue]
        attemptedAt = row[CodingKeys.attemptedAt.rawValue]
        finalizedAt = row[CodingKeys.finalizedAt.rawValue]
    }

    /// The `error` text of each kept error, oldest first.
    public var errorMessages: [String] {
        errors.compactMap { if case .object(let fields) = $0, case .string(let text)? = fields["error"] { text } else { nil } }
    }

    /// The columns selected for a `JobRecord`, in table order.
    static let columns = """
        id, kind, queue, args, state, priority, attempt, max_attempts, run_at, retry_until, lease_owner, \
        lease_expires_at, unique_key, errors, created_at, attempted_at, finalized_at
        """
}

/// A page of jobs with the cursor of the next page.
public struct JobPage: Sendable, Codable {
    public var jobs: [JobRecord]
    /// The cursor for the next page (the last id shown), nil on the last page.
    public var nextCursor: String?

    enum CodingKeys: String, CodingKey {
        case jobs
        case nextCursor = "next_cursor"
    }

    public init(jobs: [JobRecord], nextCursor: String?) {
        self.jobs = jobs
        self.nextCursor = nextCursor
    }
}

/// The proof that a worker holds a job: its id and the token of the current lease.
public struct JobLease: Sendable, Hashable {
    public var id: Int64
    public var token: Int64

    public init(id: Int64, token: Int64) {
        self.id = id
        self.token = token
    }
}

/// A job a worker has claimed, with the lease it holds.
public struct ClaimedJob: Sendable {
    public var id: Int64
    public var kind: String
    public var queue: String
    public var args: String
    public var priority: Int
    /// This attempt's number, starting at 1.
    public var attempt: Int
    public var maxAttempts: Int
    public var retryUntil: Int64?
    public var leaseToken: Int64
    public var leaseExpiresAt: Int64

    public var lease: JobLease { JobLease(id: id, token: leaseToken) }

    public init(
        id: Int64, kind: String, queue: String, args: String, priority: Int, attempt: Int, maxAttempts: Int,
        retryUntil: Int64?, leaseToken: Int64, leaseExpiresAt: Int64
    ) {
        self.id = id
        self.kind = kind
        self.queue = queue
        self.args = args
        self.priority = priority
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.retryUntil = retryUntil
        self.leaseToken = leaseToken
        self.leaseExpiresAt = leaseExpiresAt
    }
}

/// What a worker reports for a job it held; applied only if the lease is still current.
public struct JobAck: Sendable {
    public enum Outcome: Sendable, Equatable {
        /// The job succeeded.
        case completed
        /// The attempt failed; `retryAt` nil means the job is discarded.
        case failed(error: String, retryAt: Int64?)
        /// Run again at the given time without counting an attempt.
        case snoozed(until: Int64)
        /// The handler asked to stop for good.
        case cancelled(reason: String)
        /// The worker gives the job back untouched (shutdown); not an attempt.
        case released
    }

    public var lease: JobLease
    public var outcome: Outcome

    public init(lease: JobLease, outcome: Outcome) {
        self.lease = lease
        self.outcome = outcome
    }
}

/// The result of one fused acknowledge-and-claim transaction.
public struct FetchResult: Sendable {
    /// Newly claimed jobs.
    public var claimed: [ClaimedJob]
    /// Acks that were refused because the lease was no longer held.
    public var lostAcks: [JobLease]
    /// Heartbeated leases that were no longer held.
    public var lostLeases: [JobLease]

    public init(claimed: [ClaimedJob] = [], lostAcks: [JobLease] = [], lostLeases: [JobLease] = []) {
        self.claimed = claimed
        self.lostAcks = lostAcks
        self.lostLeases = lostLeases
    }
}

/// A request to claim up to `limit` due jobs from `queue` for `owner`.
public struct ClaimRequest: Sendable {
    public var queue: String
    public var owner: String
    public var limit: Int
    public var leaseTTL: Duration

    public init(queue: String, owner: String, limit: Int, leaseTTL: Duration) {
        self.queue = queue
        self.owner = owner
        self.limit = limit
        self.leaseTTL = leaseTTL
    }
}

/// A filter and page position for listing jobs, newest first.
public struct JobQuery: Sendable {
    public var state: JobState?
    public var kind: String?
    public var queue: String?
    /// Only jobs with an id below this (the previous page's `nextCursor`).
    public var before: Int64?
    public var limit: Int

    public init(state: JobState? = nil, kind: String? = nil, queue: String? = nil, before: Int64? = nil, limit: Int = 50) {
        self.state = state
        self.kind = kind
        self.queue = queue
        self.before = before
        self.limit = limit
    }
}

/// The number of jobs in one state of one kind and queue.
public struct JobCount: Sendable, Equatable, Codable, FetchableRecord {
    public var state: JobState
    public var kind: String
    public var queue: String
    public var count: Int

    public init(state: JobState, kind: String, queue: String, count: Int) {
        self.state = state
        self.kind = kind
        self.queue = queue
        self.count = count
    }
}
