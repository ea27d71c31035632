import GRDB

extension SQLiteQueue {
    public func job(id: Int64) async throws -> JobRecord? {
        try await pool.read { db in try Self.fetchJob(id, in: db) }
    }

    static func fetchJob(_ id: Int64, in db: Database) throws -> JobRecord? {
        try JobRecord.fetchOne(db, sql: "SELECT \(JobRecord.columns) FROM jobs WHERE id = ?", arguments: [id])
    }

    public func jobs(_ query: JobQuery) async throws -> JobPage {
        var conditions: [String] = []
        var arguments = StatementArguments()
        if let state = query.state { conditions.append("state = ?"); arguments += [state.rawValue] }
        if let kind = query.kind { conditions.append("kind = ?"); arguments += [kind] }
        if let queue = query.queue { conditions.append("queue = ?"); arguments += [queue] }
        if let before = query.before { conditions.append("id < ?"); arguments += [before] }
        let limit = max(1, min(query.limit, 500))
        arguments += [limit + 1]
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let bound = arguments
        let sql = "SELECT \(JobRecord.columns) FROM jobs \(filter) ORDER BY id DESC LIMIT ?"
        let rows = try await pool.read { db in try JobRecord.fetchAll(db, sql: sql, arguments: bound) }
        let page = Array(rows.prefix(limit))
        return JobPage(jobs: page, nextCursor: rows.count > limit ? page.last.map { String($0.id) } : nil)
    }

    public func cancel(id: Int64) async throws -> JobRecord {
        let now = clock.nowMillis()
        return try await pool.write { db in
            guard let job = try Self.fetchJob(id, in: db) else { throw SchedulerError.notFound(id) }
            if job.state.isFinal { throw SchedulerError.conflict("job \(id) is already \(job.state.rawValue)") }
            // A running job loses its lease: its worker's completion is refused and its heartbeat reports the loss.
            try db.execute(sql: """
                UPDATE jobs SET state = 'cancelled', finalized_at = ?1, lease_token = NULL, lease_expires_at = NULL,
                    errors = \(self.appendError) WHERE id = ?3
                """, arguments: [now, "cancelled by operator", id])
            return try Self.fetchJob(id, in: db)!
        }
    }

    public func retry(id: Int64) async throws -> JobRecord {
        let now = clock.nowMillis()
        let job = try await pool.write { db -> JobRecord in
            guard let job = try Self.fetchJob(id, in: db) else { throw SchedulerError.notFound(id) }
            if job.state == .running { throw SchedulerError.conflict("job \(id) is running") }
            do {
                // An operator's retry gets one more attempt and a fresh window if the old one is spent.
                try db.execute(sql: """
                    UPDATE jobs SET state = 'available', run_at = ?1, finalized_at = NULL,
                        max_attempts = max(max_attempts, attempt + 1),
                        retry_until = CASE WHEN retry_until < ?1 THEN NULL ELSE retry_until END
                    WHERE id = ?2
                    """, arguments: [now, id])
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                throw SchedulerError.conflict("job \(id): another live job holds unique key \(job.uniqueKey ?? "")")
            }
            return try Self.fetchJob(id, in: db)!
        }
        notifier.notify(queues: [job.queue])
        return job
    }

    public func prune(finalizedBefore before: Int64, limit: Int) async throws -> Int {
        try await pool.write { db in
            try db.execute(sql: """
                DELETE FROM jobs WHERE id IN (
                    SELECT id FROM jobs WHERE finalized_at < ? AND state IN ('completed','cancelled','discarded') LIMIT ?)
                """, arguments: [before, limit])
            return db.changesCount
        }
    }

    public func counts() async throws -> [JobCount] {
        try await pool.read { db in
            try JobCount.fetchAll(db, sql: """
                SELECT state, kind, queue, count(*) AS count FROM jobs GROUP BY state, kind, queue ORDER BY state, kind, queue
                """)
        }
    }
}

extension SQLiteQueue {
    /// Cancels the live jobs holding any of `uniqueKeys`, inside the caller's transaction (a running one loses
    /// its lease, as with `cancel(id:)`).
    @discardableResult
    public func cancel(uniqueKeys: [String], in db: Database) throws -> Int {
        let now = clock.nowMillis()
        var cancelled = 0
        for chunk in stride(from: 0, to: uniqueKeys.count, by: 400).map({ Array(uniqueKeys[$0..<min($0 + 400, uniqueKeys.count)]) }) {
            let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
            try db.execute(sql: """
                UPDATE jobs SET state = 'cancelled', finalized_at = ?, lease_token = NULL, lease_expires_at = NULL
                WHERE unique_key IN (\(marks)) AND state IN ('available','scheduled','running','retryable')
                """, arguments: [now] + StatementArguments(chunk))
            cancelled += db.changesCount
        }
        return cancelled
    }
}
