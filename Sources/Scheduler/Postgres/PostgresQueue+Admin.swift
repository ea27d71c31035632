import PostgresNIO

extension PostgresQueue {
    /// The columns selected for a `JobRecord`, as `JobRecord(postgres:)` reads them.
    static let recordColumns = """
        id, kind, queue, args::text, state, priority::int8, attempt::int8, max_attempts::int8, run_at, retry_until, \
        lease_owner, lease_expires_at, unique_key, errors::text, created_at, attempted_at, finalized_at
        """

    public func job(id: Int64) async throws -> JobRecord? {
        try await records(client.query("SELECT \(unescaped: Self.recordColumns) FROM jobs WHERE id = \(id)", logger: logger)).first
    }

    public func jobs(_ query: JobQuery) async throws -> JobPage {
        var conditions: [String] = []
        var binds = PostgresBindings()
        func bind(_ condition: String, _ value: some PostgresNonThrowingEncodable & Sendable) {
            binds.append(value)
            conditions.append(condition.replacingOccurrences(of: "?", with: "$\(binds.count)"))
        }
        if let state = query.state { bind("state = ?", state.rawValue) }
        if let kind = query.kind { bind("kind = ?", kind) }
        if let queue = query.queue { bind("queue = ?", queue) }
        if let before = query.before { bind("id < ?", before) }
        let limit = max(1, min(query.limit, 500))
        binds.append(Int64(limit + 1))
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let rows = try await records(client.query(PostgresQuery(
            unsafeSQL: "SELECT \(Self.recordColumns) FROM jobs \(filter) ORDER BY id DESC LIMIT $\(binds.count)", binds: binds),
            logger: logger))
        let page = Array(rows.prefix(limit))
        return JobPage(jobs: page, nextCursor: rows.count > limit ? page.last.map { String($0.id) } : nil)
    }

    public func cancel(id: Int64) async throws -> JobRecord {
        let now = clock.nowMillis()
        return try await client.inTransaction(logger: logger) { connection in
            guard let job = try await self.records(connection.query(
                "SELECT \(unescaped: Self.recordColumns) FROM jobs WHERE id = \(id) FOR UPDATE", logger: self.logger)).first
            else { throw SchedulerError.notFound(id) }
            if job.state.isFinal { throw SchedulerError.conflict("job \(id) is already \(job.state.rawValue)") }
            // A running job loses its lease: its worker's completion is refused and its heartbeat reports the loss.
            var binds = PostgresBindings()
            binds.append(now)
            binds.append("cancelled by operator")
            binds.append(id)
            let rows = try await connection.query(PostgresQuery(unsafeSQL: """
                UPDATE jobs SET state = 'cancelled', finalized_at = $1, lease_token = NULL, lease_expires_at = NULL,
                    errors = \(Self.appendError("$1", "$2", kept: self.errorsKept))
                WHERE id = $3 RETURNING \(Self.recordColumns)
                """, binds: binds), logger: self.logger)
            return try await self.records(rows)[0]
        }
    }

    public func retry(id: Int64) async throws -> JobRecord {
        let now = clock.nowMillis()
        let job = try await client.inTransaction(logger: logger) { connection in
            guard let job = try await self.records(connection.query(
                "SELECT \(unescaped: Self.recordColumns) FROM jobs WHERE id = \(id) FOR UPDATE", logger: self.logger)).first
            else { throw SchedulerError.notFound(id) }
            if job.state == .running { throw SchedulerError.conflict("job \(id) is running") }
            do {
                // An operator's retry gets one more attempt and a fresh window if the old one is spent.
                let rows = try await connection.query("""
                    UPDATE jobs SET state = 'available', run_at = \(now), finalized_at = NULL,
                        max_attempts = greatest(max_attempts, attempt + 1),
                        retry_until = CASE WHEN retry_until < \(now) THEN NULL ELSE retry_until END
                    WHERE id = \(id) RETURNING \(unescaped: Self.recordColumns)
                    """, logger: self.logger)
                let updated = try await self.records(rows)[0]
                try await connection.query("SELECT pg_notify(\(Self.channel), \(updated.queue))", logger: self.logger)
                return updated
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {  // unique_violation
                throw SchedulerError.conflict("job \(id): another live job holds unique key \(job.uniqueKey ?? "")")
            }
        }
        notifier.notify(queues: [job.queue])
        return job
    }

    public func prune(finalizedBefore before: Int64, limit: Int) async throws -> Int {
        let rows = try await client.query("""
            WITH pruned AS (
                DELETE FROM jobs WHERE id IN (
                    SELECT id FROM jobs WHERE finalized_at < \(before) AND state IN ('completed','cancelled','discarded')
                    LIMIT \(Int64(limit)))
                RETURNING 1)
            SELECT count(*)::int8 FROM pruned
            """, logger: logger)
        for try await count in rows.decode(Int64.self) { return Int(count) }
        return 0
    }

    public func counts() async throws -> [JobCount] {
        let rows = try await client.query("""
            SELECT state, kind, queue, count(*)::int8 FROM jobs GROUP BY state, kind, queue ORDER BY state, kind, queue
            """, logger: logger)
        var counts: [JobCount] = []
        for try await (state, kind, queue, count) in rows.decode((String, String, String, Int64).self) {
            guard let state = JobState(rawValue: state) else { throw SchedulerError.database("a job has an unknown state") }
            counts.append(JobCount(state: state, kind: kind, queue: queue, count: Int(count)))
        }
        return counts
    }

    /// Cancels the live jobs holding any of `uniqueKeys` on `connection`, inside the caller's transaction (a running
    /// one loses its lease, as with `cancel(id:)`).
    @discardableResult
    public func cancel(uniqueKeys: [String], in connection: PostgresConnection) async throws -> Int {
        let now = clock.nowMillis()
        var binds = PostgresBindings()
        binds.append(now)
        binds.append(uniqueKeys)
        let rows = try await connection.query(PostgresQuery(unsafeSQL: """
            WITH cancelled AS (
                UPDATE jobs SET state = 'cancelled', finalized_at = $1, lease_token = NULL, lease_expires_at = NULL
                WHERE unique_key = ANY($2::text[]) AND \(Self.liveUnique)
                RETURNING 1)
            SELECT count(*)::int8 FROM cancelled
            """, binds: binds), logger: logger)
        for try await count in rows.decode(Int64.self) { return Int(count) }
        return 0
    }

    /// Reads every row of `rows` (selected with `recordColumns`) as a `JobRecord`.
    func records(_ rows: PostgresRowSequence) async throws -> [JobRecord] {
        var records: [JobRecord] = []
        for try await row in rows { records.append(try JobRecord(postgres: row)) }
        return records
    }
}

extension JobRecord {
    /// Decodes a row selected with `PostgresQueue.recordColumns`; the JSON columns are parsed here.
    init(postgres row: PostgresRow) throws {
        let cells = row.makeRandomAccess()
        id = try cells[0].decode(Int64.self)
        kind = try cells[1].decode(String.self)
        queue = try cells[2].decode(String.self)
        let argsText = try cells[3].decode(String.self)
        args = JSONValue(text: argsText) ?? .string(argsText)
        guard let state = JobState(rawValue: try cells[4].decode(String.self)) else {
            throw SchedulerError.database("job \(id) has an unknown state")
        }
        self.state = state
        priority = Int(try cells[5].decode(Int64.self))
        attempt = Int(try cells[6].decode(Int64.self))
        maxAttempts = Int(try cells[7].decode(Int64.self))
        runAt = try cells[8].decode(Int64.self)
        retryUntil = try cells[9].decode(Int64?.self)
        leaseOwner = try cells[10].decode(String?.self)
        leaseExpiresAt = try cells[11].decode(Int64?.self)
        uniqueKey = try cells[12].decode(String?.self)
        let errorsText = try cells[13].decode(String?.self)
        if case .array(let list)? = errorsText.flatMap(JSONValue.init(text:)) { errors = list } else { errors = [] }
        createdAt = try cells[14].decode(Int64.self)
        attemptedAt = try cells[15].decode(Int64?.self)
        finalizedAt = try cells[16].decode(Int64?.self)
    }
}
