import GRDB

/// How the SQLite driver reads jobs, counts and schedules from rows.
extension JobRecord: FetchableRecord {
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

    /// The columns selected for a `JobRecord`, in table order.
    static let columns = """
        id, kind, queue, args, state, priority, attempt, max_attempts, run_at, retry_until, lease_owner, \
        lease_expires_at, unique_key, errors, created_at, attempted_at, finalized_at
        """
}

extension JobCount: FetchableRecord {}

extension ScheduleRecord: FetchableRecord {}
