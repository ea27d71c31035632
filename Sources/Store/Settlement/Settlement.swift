import Scheduler

/// Settles usage logs in id order: for each log, `settled = ceil(cost × the user's rate multiplier)` in integer
/// micro-units; per batch, one write transaction debits each user's balance (`users.used`), appends one ledger
/// row per user and advances the checkpoint with a compare-and-set. Either all of that commits or none of it, so
/// two racing settlers, or a process killed mid-batch, never settle a log twice.
///
/// The checkpoint relies on every usage log with an id below the ones a batch reads being committed. On SQLite
/// ids are taken under the single writer lock; on PostgreSQL a sequence hands ids out before commit, so a batch
/// first locks `usage_logs` against writers (`EXCLUSIVE`: reads go on), which waits for every transaction that
/// inserted logs to end and makes later inserts take higher ids. Usage logs are never deleted.
public struct Settlement: Sendable {
    let db: AppDatabase
    let clock: any WallClock
    /// Usage logs settled per write transaction.
    public let batchSize: Int

    public init(db: AppDatabase, clock: any WallClock = SystemWallClock(), batchSize: Int = 5000) {
        self.db = db
        self.clock = clock
        self.batchSize = max(1, batchSize)
    }

    /// What one committed batch did.
    public struct Batch: Sendable, Equatable {
        /// The checkpoint before and after: the batch settled the logs with id in `(afterLogId, throughLogId]`.
        public var afterLogId: Int64
        public var throughLogId: Int64
        public var logs: Int
        /// Micro-units debited.
        public var amount: Int64
        /// The logs' raw cost before multipliers.
        public var cost: Int64
        /// The users debited, in the order of their first log in the batch.
        public var userIds: [Int64]
        /// Users whose balance this batch ran out.
        public var exhaustedUsers: [Int64]
    }

    /// Where settlement stands.
    public struct Checkpoint: Sendable, Equatable, StoreRecord {
        public static let databaseTableName = "settlement_checkpoint"

        public var lastLogId: Int64
        public var settledLogs: Int64
        public var settledAmount: Int64

        enum CodingKeys: String, CodingKey {
            case lastLogId = "last_log_id"
            case settledLogs = "settled_logs"
            case settledAmount = "settled_amount"
        }
    }

    /// `ceil(cost × ratePpm / 1,000,000)` without floating point or intermediate overflow for any real cost.
    public static func settledAmount(cost: Int64, ratePpm: Int64) throws -> Int64 {
        // cost × ppm / 1e6 = whole × ppm + part × ppm / 1e6, where whole × ppm is already an integer.
        let whole = cost / 1_000_000
        let part = cost % 1_000_000
        let (scaled, o1) = whole.multipliedReportingOverflow(by: ratePpm)
        let (fraction, o2) = part.multipliedReportingOverflow(by: ratePpm)
        // Division truncates toward zero, which rounds a positive remainder down: add one for it.
        let up = fraction / 1_000_000 + (fraction % 1_000_000 > 0 ? 1 : 0)
        let (sum, o3) = scaled.addingReportingOverflow(up)
        guard !o1, !o2, !o3 else { throw StoreError.invalid("settled amount overflows: cost \(cost) × \(ratePpm) ppm") }
        return sum
    }

    /// The current checkpoint.
    public func checkpoint() async throws -> Checkpoint {
        try await db.read { db in try Self.checkpoint(db) }
    }

    static func checkpoint(_ db: any StoreConnection) throws -> Checkpoint {
        guard let row = try Checkpoint.fetchOne(db, sql: "SELECT * FROM settlement_checkpoint WHERE id = 1") else {
            throw StoreError.database("settlement checkpoint row is missing")
        }
        return row
    }

    /// Settles the next batch in one `BEGIN IMMEDIATE` transaction; nil when every log is settled.
    public func settleNextBatch() async throws -> Batch? {
        let now = clock.nowMillis()
        let limit = batchSize
        return try await db.backgroundWrite { db in try Self.settleBatch(db, limit: limit, now: now) }
    }

    /// Settles batches until none is left (or the task is cancelled between batches), calling `progress` after each.
    public func settleAll(progress: (Batch) -> Void = { _ in }) async throws -> [Batch] {
        var batches: [Batch] = []
        while let batch = try await settleNextBatch() {
            batches.append(batch)
            progress(batch)
            try Task.checkCancellation()
        }
        return batches
    }

    /// Keeps `users.exhausted_at` in step with quota changes made outside settlement: marks users whose balance
    /// is out and clears users who have balance again (an operator raised the quota). Returns (marked, cleared).
    public func refreshExhaustedMarks() async throws -> (marked: Int, cleared: Int) {
        let now = clock.nowMillis()
        return try await db.write { db in
            try db.execute(sql: """
                UPDATE users SET exhausted_at = ? WHERE exhausted_at IS NULL AND quota IS NOT NULL AND used >= quota
                """, arguments: [now])
            let marked = db.changesCount
            try db.execute(sql: "UPDATE users SET exhausted_at = NULL WHERE exhausted_at IS NOT NULL AND (quota IS NULL OR used < quota)")
            return (marked, db.changesCount)
        }
    }

    private struct UserTotal {
        var amount: Int64 = 0
        var cost: Int64 = 0
        var logs: Int64 = 0
        var ratePpm: Int64
    }

    static func settleBatch(_ db: any StoreConnection, limit: Int, now: Int64) throws -> Batch? {
        if db.engine == .postgresql { try db.execute(sql: "LOCK TABLE usage_logs IN EXCLUSIVE MODE") }
        let before = try checkpoint(db).lastLogId
        var totals: [Int64: UserTotal] = [:]
        var order: [Int64] = []
        var last = before
        var count = 0
        var amount: Int64 = 0
        var cost: Int64 = 0
        let logs = try SQLRow.fetchAll(db, sql: """
            SELECT l.id, l.user_id, l.cost, u.rate_multiplier_ppm FROM usage_logs l LEFT JOIN users u ON u.id = l.user_id
            WHERE l.id > ? ORDER BY l.id LIMIT ?
            """, arguments: [before, limit])
        for row in logs {
            let id: Int64 = try row.get(0), userId: Int64 = try row.get(1), logCost: Int64 = try row.get(2)
            if totals[userId] == nil {
                // A log whose user no longer exists is settled at 1× so the debt stays on the ledger.
                totals[userId] = UserTotal(ratePpm: try row.get(3, as: Int64?.self) ?? 1_000_000)
                order.append(userId)
            }
            let settled = try settledAmount(cost: logCost, ratePpm: totals[userId]!.ratePpm)
            totals[userId]!.amount += settled
            totals[userId]!.cost += logCost
            totals[userId]!.logs += 1
            amount += settled
            cost += logCost
            last = id
            count += 1
        }
        guard count > 0 else { return nil }
        // One UPDATE and one multi-row INSERT per 500 users, not two statements per user: on PostgreSQL each
        // statement is a round trip, and a batch holds writers off `usage_logs` while it runs.
        var exhausted: [Int64] = []
        for start in stride(from: 0, to: order.count, by: 500) {
            let chunk = order[start..<min(start + 500, order.count)]
            var debits = SQLArguments([now])
            for userId in chunk { debits += [userId, totals[userId]!.amount] }
            var after: [Int64: (balance: Int64?, exhaustedAt: Int64?)] = [:]
            for row in try SQLRow.fetchAll(db, sql: """
                UPDATE users SET used = used + d.column2,
                    exhausted_at = CASE WHEN quota IS NOT NULL AND used + d.column2 >= quota THEN coalesce(exhausted_at, ?)
                                        ELSE exhausted_at END
                FROM (VALUES \(Array(repeating: "(?, ?)", count: chunk.count).joined(separator: ", "))) AS d
                WHERE users.id = d.column1 RETURNING users.id, quota - used, exhausted_at
                """, arguments: debits) {
                after[try row.get(0)] = (try row.get(1), try row.get(2))
            }
            var ledger = SQLArguments()
            for userId in chunk {
                let total = totals[userId]!
                // A user no longer there has no balance: the debt stays on the ledger all the same.
                let balance = after[userId]?.balance ?? nil
                if let balance, balance <= 0, after[userId]?.exhaustedAt == now { exhausted.append(userId) }
                ledger += [userId, total.amount, total.cost, total.ratePpm, total.logs, before, last, balance, now]
            }
            try db.execute(sql: """
                INSERT INTO ledger (user_id, kind, amount, cost, rate_multiplier_ppm, log_count, after_log_id, through_log_id,
                                    balance_after, created_at)
                VALUES \(Array(repeating: "(?, 'settle', ?, ?, ?, ?, ?, ?, ?, ?)", count: chunk.count).joined(separator: ", "))
                """, arguments: ledger)
        }
        // Compare-and-set: only the settler that read `before` may move the checkpoint (the write lock already
        // guarantees it on SQLite; the check keeps that true on any engine).
        try db.execute(sql: """
            UPDATE settlement_checkpoint SET last_log_id = ?, settled_logs = settled_logs + ?, settled_amount = settled_amount + ?,
                updated_at = ? WHERE id = 1 AND last_log_id = ?
            """, arguments: [last, count, amount, now, before])
        guard db.changesCount == 1 else { throw StoreError.conflict("settlement checkpoint moved under this batch") }
        return Batch(afterLogId: before, throughLogId: last, logs: count, amount: amount, cost: cost, userIds: order,
                     exhaustedUsers: exhausted)
    }
}
