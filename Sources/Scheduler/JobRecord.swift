
/// One job, as stored and as the control plane and `switchyard jobs --json` show it: args and errors as JSON,
/// times in UTC milliseconds.
public struct JobRecord: Sendable, Codable, Equatable {
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

    /// The `error` text of each kept error, oldest first.
    public var errorMessages: [String] {
        errors.compactMap { if case .object(let fields) = $0, case .string(let text)? = fields["error"] { text } else { nil } }
    }
}
