import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL driver of the job queue, on PostgresNIO's pooled `PostgresClient`.
///
/// Every call is one statement where SQLite needs several: a bulk enqueue is one `INSERT … SELECT FROM unnest(…)`
/// (ten array parameters, whatever the number of jobs), and a worker's fetch (acks, heartbeats and the claim with
/// `FOR UPDATE SKIP LOCKED`) is one statement of data-modifying CTEs, atomic as any single statement is. Idle
/// workers in every process wake on `NOTIFY switchyard_jobs` (`PostgresJobListener`), sent once per queue per
/// enqueuing statement and delivered by the server at commit; polling stays only as the fallback.
public final class PostgresQueue: QueueDriver {
    public let client: PostgresClient
    public let clock: any WallClock
    public let notifier: QueueNotifier
    let logger: Logger
    /// How many errors a job row keeps (the oldest are dropped).
    public let errorsKept = 10
    /// The `LISTEN`/`NOTIFY` channel; the payload is the queue's name.
    public static let channel = "switchyard_jobs"
    /// Jobs per `INSERT` statement: bounds the arrays sent and the rows returned at once.
    static let enqueueChunk = 10_000

    public init(client: PostgresClient, clock: any WallClock = SystemWallClock(), notifier: QueueNotifier = QueueNotifier(),
                logger: Logger) {
        self.client = client
        self.clock = clock
        self.notifier = notifier
        self.logger = logger
    }

    // MARK: Enqueue

    public func enqueue(_ jobs: [NewJob]) async throws -> [EnqueueResult] {
        for job in jobs { try job.validate() }
        let results: [EnqueueResult]
        if jobs.count <= Self.enqueueChunk {
            // One statement is its own transaction (a duplicate's lookup after it only reads).
            results = try await client.withConnection { connection in try await self.enqueue(jobs, in: connection) }
        } else {
            results = try await client.inTransaction(logger: logger) { connection in try await self.enqueue(jobs, in: connection) }
        }
        notifier.notify(queues: Set(jobs.map(\.queue)))
        return results
    }

    /// Enqueues on `connection`, inside the caller's transaction when it holds one: the jobs commit or roll back
    /// with the caller's rows, and listeners (this process's too) are notified at commit.
    public func enqueue(_ jobs: [NewJob], in connection: PostgresConnection) async throws -> [EnqueueResult] {
        for job in jobs { try job.validate() }
        let now = clock.nowMillis()
        var results: [EnqueueResult?] = []
        results.reserveCapacity(jobs.count)
        var duplicates: [Int: String] = [:]
        for start in stride(from: 0, to: jobs.count, by: Self.enqueueChunk) {
            let chunk = jobs[start..<min(start + Self.enqueueChunk, jobs.count)]
            let inserted = try await insert(chunk, now: now, notify: start == 0, on: connection)
            // RETURNING gives the inserted rows in input order; a unique job skipped by ON CONFLICT has no row.
            var next = 0
            for (offset, job) in chunk.enumerated() {
                if next < inserted.count, inserted[next].uniqueKey == job.uniqueKey {
                    results.append(EnqueueResult(id: inserted[next].id, duplicate: false))
                    next += 1
                } else if let key = job.uniqueKey {
                    results.append(nil)
                    duplicates[start + offset] = key
                } else {
                    throw SchedulerError.database("enqueue returned rows out of order")
                }
            }
        }
        if !duplicates.isEmpty {
            let holders = try await liveHolders(of: Array(Set(duplicates.values)), on: connection)
            for (index, key) in duplicates {
                guard let id = holders[key] else { throw SchedulerError.database("unique key conflict without a live job") }
                results[index] = EnqueueResult(id: id, duplicate: true)
            }
        }
        return results.map { $0! }
    }

    private func insert(_ jobs: ArraySlice<NewJob>, now: Int64, notify: Bool, on connection: PostgresConnection) async throws
        -> [(id: Int64, uniqueKey: String?)] {
        var binds = PostgresBindings(capacity: 11)
        binds.append(jobs.map(\.kind))
        binds.append(jobs.map(\.queue))
        binds.append(jobs.map(\.args))
        binds.append(jobs.map { ($0.runAt ?? now) > now ? JobState.scheduled.rawValue : JobState.available.rawValue })
        binds.append(jobs.map { Int64($0.priority) })
        binds.append(jobs.map { Int64($0.maxAttempts) })
        binds.append(jobs.map { $0.runAt ?? now })
        binds.append(jobs.map { $0.retryUntil ?? Self.null })
        binds.append(jobs.map { $0.uniqueKey ?? "" })
        binds.append(now)
        binds.append(notify ? Array(Set(jobs.map(\.queue))) : [String]())
        let query = PostgresQuery(unsafeSQL: """
            WITH inserted AS (
                INSERT INTO jobs (kind, queue, args, state, priority, max_attempts, run_at, retry_until, unique_key, created_at)
                SELECT kind, queue, args::jsonb, state, priority, max_attempts, run_at,
                       nullif(retry_until, \(Self.null)), nullif(unique_key, ''), $10
                FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::int8[], $7::int8[], $8::int8[],
                            $9::text[]) AS j(kind, queue, args, state, priority, max_attempts, run_at, retry_until, unique_key)
                ON CONFLICT (unique_key) WHERE \(Self.liveUnique) DO NOTHING
                RETURNING id, unique_key),
            notified AS (SELECT pg_notify('\(Self.channel)', q) FROM unnest($11::text[]) AS q)
            SELECT id, unique_key FROM inserted WHERE (SELECT count(*) FROM notified) >= 0
            """, binds: binds)
        return try await translatingErrors {
            var inserted: [(id: Int64, uniqueKey: String?)] = []
            inserted.reserveCapacity(jobs.count)
            for try await (id, key) in try await connection.query(query, logger: logger).decode((Int64, String?).self) {
                inserted.append((id, key))
            }
            return inserted
        }
    }

    /// The live jobs holding `keys`, by key.
    private func liveHolders(of keys: [String], on connection: PostgresConnection) async throws -> [String: Int64] {
        var binds = PostgresBindings()
        binds.append(keys)
        let rows = try await connection.query(PostgresQuery(unsafeSQL: """
            SELECT unique_key, id FROM jobs WHERE unique_key = ANY($1::text[]) AND \(Self.liveUnique)
            """, binds: binds), logger: logger)
        var holders: [String: Int64] = [:]
        for try await (key, id) in rows.decode((String, Int64).self) { holders[key] = id }
        return holders
    }

    // MARK: Fetch (ack + heartbeat + claim)

    public func fetch(acks: [JobAck], heartbeats: [JobLease], leaseTTL: Duration, claim: ClaimRequest?) async throws -> FetchResult {
        let now = clock.nowMillis()
        let token = Int64.random(in: 1...Int64.max)
        let claimLimit = claim.map { max(0, $0.limit) } ?? 0
        let claimTTL = claim?.leaseTTL ?? leaseTTL
        // A lease both acked and heartbeated is only acked (two CTEs must not update one row).
        let ackedIDs = Set(acks.map(\.lease.id))
        let beats = heartbeats.filter { !ackedIDs.contains($0.id) }

        var binds = PostgresBindings(capacity: 16)
        binds.append(now)                                                   // $1
        binds.append(acks.map(\.lease.id))                                  // $2
        binds.append(acks.map(\.lease.token))                               // $3
        binds.append(acks.map { Self.ackColumns($0.outcome).state })       // $4
        binds.append(acks.map { Self.ackColumns($0.outcome).runAt })       // $5
        binds.append(acks.map { Self.ackColumns($0.outcome).error })       // $6
        binds.append(acks.map { Self.ackColumns($0.outcome).giveBack })    // $7
        binds.append(beats.map(\.id))                                       // $8
        binds.append(beats.map(\.token))                                    // $9
        binds.append(now + leaseTTL.milliseconds)                           // $10
        binds.append(claim?.queue ?? "")                                    // $11
        binds.append(claim?.owner ?? "")                                    // $12
        binds.append(token)                                                 // $13
        binds.append(now + claimTTL.milliseconds)                           // $14
        binds.append(Int64(claimLimit))                                     // $15
        let released = acks.contains { $0.outcome == .released }
        binds.append(released ? claim.map { [$0.queue] } ?? [] : [String]())  // $16: a released job wakes its queue
        let rows = try await client.query(PostgresQuery(unsafeSQL: Self.fetchSQL(errorsKept: errorsKept), binds: binds),
                                          logger: logger)
        var result = FetchResult()
        var matchedAcks = Set<Int64>()
        var matchedBeats = Set<Int64>()
        let expires = now + claimTTL.milliseconds
        for try await (tag, id, kind, queue, args, priority, attempt, maxAttempts, retryUntil)
            in rows.decode((String, Int64, String?, String?, String?, Int?, Int?, Int?, Int64?).self) {
            switch tag {
            case "a": matchedAcks.insert(id)
            case "h": matchedBeats.insert(id)
            default:
                result.claimed.append(ClaimedJob(
                    id: id, kind: kind ?? "", queue: queue ?? "", args: args ?? "{}", priority: priority ?? 0,
                    attempt: attempt ?? 1, maxAttempts: maxAttempts ?? 1, retryUntil: retryUntil, leaseToken: token,
                    leaseExpiresAt: expires))
            }
        }
        result.claimed.sort { ($0.priority, $0.id) < ($1.priority, $1.id) }
        result.lostAcks = acks.map(\.lease).filter { !matchedAcks.contains($0.id) }
        result.lostLeases = beats.filter { !matchedBeats.contains($0.id) }
        if released, let queue = claim?.queue { notifier.notify(queues: [queue]) }
        return result
    }

    /// The columns an ack writes: the new state, its `run_at` (`null` keeps the row's), the error to append
    /// (empty for none) and whether the attempt is given back (release and snooze do not count as attempts).
    private static func ackColumns(_ outcome: JobAck.Outcome) -> (state: String, runAt: Int64, error: String, giveBack: Int64) {
        switch outcome {
        case .completed: (JobState.completed.rawValue, null, "", 0)
        case .released: (JobState.available.rawValue, nowMarker, "", 1)
        case .snoozed(let until): (JobState.scheduled.rawValue, until, "", 1)
        case .cancelled(let reason): (JobState.cancelled.rawValue, null, "cancelled: \(reason)", 0)
        case .failed(let error, let retryAt?): (JobState.retryable.rawValue, retryAt, error, 0)
        case .failed(let error, nil): (JobState.discarded.rawValue, null, error, 0)
        }
    }

    /// One statement: acks (fenced by lease token), heartbeats (fenced), then the claim of due jobs that other
    /// transactions have not locked. Each part returns its rows under a tag: `a` acked, `h` heartbeated, `c` claimed.
    private static func fetchSQL(errorsKept: Int) -> String {
        let final = JobState.final.map { "'\($0.rawValue)'" }.joined(separator: ",")
        return """
        WITH acked AS (
            UPDATE jobs SET state = a.state,
                attempt = jobs.attempt - a.give_back,
                run_at = CASE a.run_at WHEN \(null) THEN jobs.run_at WHEN \(nowMarker) THEN $1 ELSE a.run_at END,
                finalized_at = CASE WHEN a.state IN (\(final)) THEN $1 END,
                lease_token = NULL, lease_expires_at = NULL,
                errors = CASE WHEN a.error = '' THEN jobs.errors ELSE \(appendError("$1", "a.error", kept: errorsKept)) END
            FROM unnest($2::int8[], $3::int8[], $4::text[], $5::int8[], $6::text[], $7::int8[])
                AS a(id, token, state, run_at, error, give_back)
            WHERE jobs.id = a.id AND jobs.lease_token = a.token AND jobs.state = 'running'
            RETURNING jobs.id),
        beat AS (
            UPDATE jobs SET lease_expires_at = $10
            FROM unnest($8::int8[], $9::int8[]) AS h(id, token)
            WHERE jobs.id = h.id AND jobs.lease_token = h.token AND jobs.state = 'running'
            RETURNING jobs.id),
        claimed AS (
            UPDATE jobs SET state = 'running', attempt = attempt + 1, attempted_at = $1, lease_owner = $12,
                lease_token = $13, lease_expires_at = $14
            WHERE id IN (
                SELECT id FROM jobs WHERE state IN ('available','scheduled','retryable') AND queue = $11 AND run_at <= $1
                ORDER BY priority, run_at, id LIMIT $15 FOR UPDATE SKIP LOCKED)
            RETURNING id, kind, queue, args::text AS args, priority, attempt, max_attempts, retry_until),
        notified AS (SELECT pg_notify('\(channel)', q) FROM unnest($16::text[]) AS q)
        SELECT 'a', id, NULL::text, NULL::text, NULL::text, NULL::int, NULL::int, NULL::int, NULL::int8 FROM acked
            WHERE (SELECT count(*) FROM notified) >= 0  -- runs the NOTIFY (a plain CTE runs only when read)
        UNION ALL SELECT 'h', id, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM beat
        UNION ALL SELECT 'c', id, kind, queue, args, priority, attempt, max_attempts, retry_until FROM claimed
        """
    }

    /// SQL that appends `{at, attempt, error}` to the bounded `errors` array (the oldest dropped past `kept`).
    static func appendError(_ at: String, _ error: String, kept: Int) -> String {
        """
        (CASE WHEN jsonb_array_length(coalesce(jobs.errors, '[]'::jsonb)) >= \(kept)
            THEN coalesce(jobs.errors, '[]'::jsonb) - 0 ELSE coalesce(jobs.errors, '[]'::jsonb) END)
            || jsonb_build_array(jsonb_build_object('at', \(at)::int8, 'attempt', jobs.attempt, 'error', \(error)::text))
        """
    }

    /// The stand-in for SQL `NULL` in an `int8[]` parameter (PostgresNIO's arrays have no optional elements).
    static let null = Int64.min
    /// The stand-in for "now" in an ack's `run_at` (a release runs again at once).
    static let nowMarker = Int64.min + 1
    /// The partial unique index's predicate, which `ON CONFLICT` must repeat to infer it.
    static let liveUnique = "unique_key IS NOT NULL AND state IN (\(JobState.live.map { "'\($0.rawValue)'" }.joined(separator: ",")))"

    // MARK: Waiting and rescue

    public func nextDueTime(queue: String) async throws -> Int64? {
        let rows = try await client.query("""
            SELECT min(run_at) FROM jobs WHERE state IN ('available','scheduled','retryable') AND queue = \(queue)
            """, logger: logger)
        for try await next in rows.decode(Int64?.self) { return next }
        return nil
    }

    public func rescueExpired() async throws -> Int {
        let now = clock.nowMillis()
        let reason = "lease expired: worker stopped heartbeating"
        var binds = PostgresBindings()
        binds.append(now)
        binds.append(reason)
        let rows = try await client.query(PostgresQuery(unsafeSQL: """
            WITH rescued AS (
                UPDATE jobs SET
                    state = CASE WHEN attempt >= max_attempts OR coalesce(retry_until < $1, false) THEN 'discarded' ELSE 'retryable' END,
                    finalized_at = CASE WHEN attempt >= max_attempts OR coalesce(retry_until < $1, false) THEN $1 END,
                    run_at = $1, lease_token = NULL, lease_expires_at = NULL,
                    errors = \(Self.appendError("$1", "$2", kept: errorsKept))
                WHERE state = 'running' AND lease_expires_at < $1
                RETURNING queue, state),
            notified AS (SELECT pg_notify('\(Self.channel)', queue) FROM (SELECT DISTINCT queue FROM rescued WHERE state = 'retryable') AS q)
            SELECT queue FROM rescued WHERE (SELECT count(*) FROM notified) >= 0
            """, binds: binds), logger: logger)
        var queues: [String] = []
        for try await queue in rows.decode(String.self) { queues.append(queue) }
        notifier.notify(queues: Set(queues))
        return queues.count
    }

    // MARK: Running statements

    /// Runs `body` (a statement and the reading of its rows, where the server's error may arrive), turning a JSON
    /// error into the error the SQLite driver throws.
    func translatingErrors<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PSQLError {
            throw Self.translate(error)
        }
    }

    static func translate(_ error: PSQLError) -> any Error {
        switch error.serverInfo?[.sqlState] {
        case "22P02", "22032":  // invalid_text_representation (jsonb input), invalid_json_text
            return SchedulerError.invalidJob("args must be valid JSON")
        default:
            return error
        }
    }
}
