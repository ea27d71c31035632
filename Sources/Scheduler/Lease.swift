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
