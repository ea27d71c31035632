import Foundation
import GRDB

/// The SQLite driver of the job queue. It shares the application's `DatabasePool`, so a business write and
/// the job it enqueues commit together (`enqueue(_:in:)`).
public final class SQLiteQueue: TransactionalQueue {
    public let pool: DatabasePool
    public let clock: any WallClock
    public let notifier: QueueNotifier
    /// How many errors a job row keeps (the oldest are dropped).
    public let errorsKept = 10

    public init(pool: DatabasePool, clock: any WallClock = SystemWallClock(), notifier: QueueNotifier = QueueNotifier()) {
        self.pool = pool
        self.clock = clock
        self.notifier = notifier
    }

    // MARK: Enqueue

    public func enqueue(_ jobs: [NewJob]) async throws -> [EnqueueResult] {
        try await pool.write { db in try self.enqueue(jobs, in: db) }
    }

    /// Enqueues inside the caller's transaction; idle workers are woken when that transaction commits.
    public func enqueue(_ jobs: [NewJob], in db: Database) throws -> [EnqueueResult] {
        for job in jobs { try job.validate() }
        let now = clock.nowMillis()
        var results = [EnqueueResult?](repeating: nil, count: jobs.count)
        let plain = jobs.indices.filter { jobs[$0].uniqueKey == nil }
        let chunkSize = 400
        for start in stride(from: 0, to: plain.count, by: chunkSize) {
            let chunk = plain[start..<min(start + chunkSize, plain.count)]
            let rows = Array(repeating: "(?,?,?,?,?,?,?,?,NULL,?)", count: chunk.count).joined(separator: ",")
            var arguments = StatementArguments()
            for index in chunk { arguments += Self.insertArguments(jobs[index], now: now) }
            try execute(db, "INSERT INTO jobs (\(Self.insertColumns)) VALUES \(rows)", arguments)
            // Rows of one INSERT get consecutive rowids (max + 1 each), in VALUES order.
            let last = db.lastInsertedRowID
            for (offset, index) in chunk.enumerated() {
                results[index] = EnqueueResult(id: last - Int64(chunk.count - 1 - offset), duplicate: false)
            }
        }
        for index in jobs.indices where jobs[index].uniqueKey != nil {
            results[index] = try insertUnique(jobs[index], now: now, in: db)
        }
        let queues = Set(jobs.map(\.queue))
        let notifier = self.notifier
        db.afterNextTransaction(onCommit: { _ in notifier.notify(queues: queues) })
        return results.map { $0! }
    }

    private static let insertColumns =
        "kind, queue, args, state, priority, max_attempts, run_at, retry_until, unique_key, created_at"

    private static func insertArguments(_ job: NewJob, now: Int64) -> StatementArguments {
        let runAt = job.runAt ?? now
        let state: JobState = runAt > now ? .scheduled : .available
        return [job.kind, job.queue, job.args, state.rawValue, job.priority, job.maxAttempts, runAt, job.retryUntil, now]
    }

    private func insertUnique(_ job: NewJob, now: Int64, in db: Database) throws -> EnqueueResult {
        var arguments = Self.insertArguments(job, now: now)
        arguments += [job.uniqueKey]
        try execute(db, """
            INSERT INTO jobs (\(Self.insertColumns.replacingOccurrences(of: "unique_key, ", with: "")), unique_key)
            VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING
            """, arguments)
        if db.changesCount == 1 { return EnqueueResult(id: db.lastInsertedRowID, duplicate: false) }
        let existing = try Int64.fetchOne(db, sql: """
            SELECT id FROM jobs WHERE unique_key = ? AND state IN ('available','scheduled','running','retryable')
            """, arguments: [job.uniqueKey])
        guard let existing else { throw SchedulerError.database("unique key conflict without a live job") }
        return EnqueueResult(id: existing, duplicate: true)
    }

    // MARK: Fetch (ack + heartbeat + claim)

    public func fetch(acks: [JobAck], heartbeats: [JobLease], leaseTTL: Duration, claim: ClaimRequest?) async throws -> FetchResult {
        try await pool.write { db in
            try self.fetch(acks: acks, heartbeats: heartbeats, leaseTTL: leaseTTL, claim: claim, in: db)
        }
    }

    func fetch(acks: [JobAck], heartbeats: [JobLease], leaseTTL: Duration, claim: ClaimRequest?, in db: Database) throws -> FetchResult {
        let now = clock.nowMillis()
        var result = FetchResult()
        var released = false
        var completed: [JobLease] = []
        for ack in acks {
            switch ack.outcome {
            case .completed:
                completed.append(ack.lease)
            default:
                if try !apply(ack, now: now, in: db) { result.lostAcks.append(ack.lease) }
                if ack.outcome == .released { released = true }
            }
        }
        result.lostAcks += try updateLeases(completed, set: "state = 'completed', finalized_at = ?, lease_token = NULL, lease_expires_at = NULL", now, in: db)
        result.lostLeases = try updateLeases(heartbeats, set: "lease_expires_at = ?", now + leaseTTL.milliseconds, in: db)
        if let claim, claim.limit > 0 {
            result.claimed = try self.claim(claim, now: now, in: db)
        }
        if released, let queue = claim?.queue {
            let notifier = self.notifier
            db.afterNextTransaction(onCommit: { _ in notifier.notify(queues: [queue]) })
        }
        return result
    }

    private func claim(_ request: ClaimRequest, now: Int64, in db: Database) throws -> [ClaimedJob] {
        let token = Int64.random(in: 1...Int64.max)
        let expires = now + request.leaseTTL.milliseconds
        let rows = try Row.fetchAll(db.cachedStatement(sql: """
            UPDATE jobs SET state = 'running', attempt = attempt + 1, attempted_at = ?1, lease_owner = ?2,
                lease_token = ?3, lease_expires_at = ?4
            WHERE id IN (
                SELECT id FROM jobs WHERE state IN ('available','scheduled','retryable') AND queue = ?5 AND run_at <= ?1
                ORDER BY priority, run_at, id LIMIT ?6)
            RETURNING id, kind, queue, args, priority, attempt, max_attempts, retry_until
            """), arguments: [now, request.owner, token, expires, request.queue, request.limit])
        return rows.map { row in
            ClaimedJob(
                id: row[0], kind: row[1], queue: row[2], args: row[3], priority: row[4], attempt: row[5],
                maxAttempts: row[6], retryUntil: row[7], leaseToken: token, leaseExpiresAt: expires)
        }
    }

    /// Runs `UPDATE jobs SET <set> FROM (VALUES (id, token), …)` fenced by token; returns the leases not matched.
    private func updateLeases(_ leases: [JobLease], set: String, _ value: Int64, in db: Database) throws -> [JobLease] {
        var lost: [JobLease] = []
        let chunkSize = 200
        for start in stride(from: 0, to: leases.count, by: chunkSize) {
            let chunk = leases[start..<min(start + chunkSize, leases.count)]
            let values = Array(repeating: "(?,?)", count: chunk.count).joined(separator: ",")
            var arguments: StatementArguments = [value]
            for lease in chunk { arguments += [lease.id, lease.token] }
            let statement = try db.cachedStatement(sql: """
                UPDATE jobs SET \(set) FROM (VALUES \(values)) AS c
                WHERE jobs.id = c.column1 AND jobs.lease_token = c.column2 AND jobs.state = 'running'
                RETURNING jobs.id
                """)
            let matched = try Set(Int64.fetchAll(statement, arguments: arguments))
            if matched.count != chunk.count { lost += chunk.filter { !matched.contains($0.id) } }
        }
        return lost
    }

    /// Applies one non-completion ack; false when the lease is no longer held.
    private func apply(_ ack: JobAck, now: Int64, in db: Database) throws -> Bool {
        let lease: StatementArguments = [ack.lease.id, ack.lease.token]
        let unlease = "lease_token = NULL, lease_expires_at = NULL"
        let fence = "WHERE id = ?3 AND lease_token = ?4 AND state = 'running'"
        switch ack.outcome {
        case .completed:
            preconditionFailure("completions are applied in batches")
        case .released:
            try execute(db, "UPDATE jobs SET state = 'available', attempt = attempt - 1, run_at = ?1, \(unlease) \(fence)",
                [now, nil] + lease)
        case .snoozed(let until):
            try execute(db, "UPDATE jobs SET state = 'scheduled', attempt = attempt - 1, run_at = ?2, \(unlease) \(fence)",
                [now, until] + lease)
        case .cancelled(let reason):
            try execute(db, "UPDATE jobs SET state = 'cancelled', finalized_at = ?1, \(unlease), errors = \(appendError) \(fence)",
                [now, "cancelled: \(reason)"] + lease)
        case .failed(let error, let retryAt):
            let state: JobState = retryAt == nil ? .discarded : .retryable
            try execute(db, """
                UPDATE jobs SET state = ?5, run_at = coalesce(?6, run_at), finalized_at = CASE WHEN ?6 IS NULL THEN ?1 END,
                    \(unlease), errors = \(appendError) \(fence)
                """, [now, error] + lease + [state.rawValue, retryAt])
        }
        return db.changesCount == 1
    }

    /// SQL that appends `{at: ?1, attempt, error: ?2}` to the bounded `errors` array.
    var appendError: String {
        """
        json_insert(CASE WHEN json_array_length(coalesce(errors, '[]')) >= \(errorsKept)
            THEN json_remove(errors, '$[0]') ELSE coalesce(errors, '[]') END,
            '$[#]', json_object('at', ?1, 'attempt', attempt, 'error', ?2))
        """
    }

    func execute(_ db: Database, _ sql: String, _ arguments: StatementArguments) throws {
        do {
            try db.cachedStatement(sql: sql).execute(arguments: arguments)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            if error.message?.contains("json_valid") == true {
                throw SchedulerError.invalidJob("args must be valid JSON")
            }
            throw error
        }
    }

    // MARK: Waiting and rescue

    public func nextDueTime(queue: String) async throws -> Int64? {
        try await pool.read { db in
            try Int64.fetchOne(db.cachedStatement(sql: """
                SELECT min(run_at) FROM jobs WHERE state IN ('available','scheduled','retryable') AND queue = ?
                """), arguments: [queue])
        }
    }

    public func rescueExpired() async throws -> Int {
        let now = clock.nowMillis()
        let queues = try await pool.write { db in
            try String.fetchAll(db.cachedStatement(sql: """
                UPDATE jobs SET
                    state = CASE WHEN attempt >= max_attempts OR coalesce(retry_until < ?1, 0) THEN 'discarded' ELSE 'retryable' END,
                    finalized_at = CASE WHEN attempt >= max_attempts OR coalesce(retry_until < ?1, 0) THEN ?1 END,
                    run_at = ?1, lease_token = NULL, lease_expires_at = NULL, errors = \(self.appendError)
                WHERE state = 'running' AND lease_expires_at < ?1
                RETURNING queue
                """), arguments: [now, "lease expired: worker stopped heartbeating"])
        }
        notifier.notify(queues: Set(queues))
        return queues.count
    }
}
