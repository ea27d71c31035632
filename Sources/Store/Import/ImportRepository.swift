import Foundation
import Scheduler

/// The repository of batch imports: runs, items, events and the jobs that drive them, written together.
public struct ImportRepository: Sendable {
    public let db: AppDatabase
    let queue: StoreQueue

    public init(db: AppDatabase, queue: StoreQueue) {
        self.db = db
        self.queue = queue
    }

    /// The clock the queue stamps rows with, for the workflow's own times.
    public var clock: any WallClock { queue.clock }

    /// Stores the run, its items and one `import.item` job per item in one transaction. With an idempotency key
    /// already used, returns that run (`created == false`); the same key with a different request is a conflict.
    /// A foreground write: the API caller waits for it (as a background write under `SCHED_IDLE` it got no CPU
    /// for over 5 s on a saturated machine), and the gateway's requests never wait on the write lock.
    public func create(_ run: ImportRun, items: [ImportItem]) async throws -> (run: ImportRun, created: Bool) {
        let now = clock.nowMillis()
        let options = run.options
        return try await db.write { db in
            if let key = run.idempotencyKey, let existing = try ImportRun.fetchOne(db, sql: "SELECT * FROM import_runs WHERE idempotency_key = ?", arguments: [key]) {
                guard existing.requestDigest == run.requestDigest else {
                    throw StoreError.conflict("Idempotency-Key \(key) was used for a different request (run \(existing.id))")
                }
                return (existing, false)
            }
            try run.insert(db)
            try ImportItem.insertAll(db, items)
            let jobs = try items.map { item in
                // No queue-level window: the handler opens each item's window at its first probe.
                try ImportJobs.item.job(ImportJobs.ItemArgs(runId: run.id, index: item.index), maxAttempts: options.maxAttempts + 2,
                                        uniqueKey: ImportJobs.itemKey(run.id, item.index))
            }
            _ = try queue.enqueue(jobs, in: db)
            try ImportEvent.append(db, runId: run.id, item: nil, type: "run.queued", data: ["items": .int(Int64(items.count))], at: now)
            return (run, true)
        }
    }

    public func run(_ id: String) async throws -> ImportRun? {
        try await db.read { db in try ImportRun.fetchOne(db, key: id) }
    }

    /// Items of a run from `index` on; `background` for a job's read (see `AppDatabase.backgroundRead`).
    public func items(_ runId: String, from index: Int = 0, limit: Int = 10_000, background: Bool = false) async throws -> [ImportItem] {
        try await db.read(background: background) { db in
            try ImportItem.fetchAll(db, sql: "SELECT * FROM import_items WHERE run_id = ? AND idx >= ? ORDER BY idx LIMIT ?",
                                   arguments: [runId, index, limit])
        }
    }

    /// Item counts by state and by outcome.
    public func counts(_ runId: String) async throws -> (states: [String: Int], outcomes: [String: Int]) {
        try await db.read { db in
            var states: [String: Int] = [:]
            var outcomes: [String: Int] = [:]
            for row in try SQLRow.fetchAll(db, sql: """
                SELECT state, outcome, count(*) AS n FROM import_items WHERE run_id = ? GROUP BY state, outcome
                """, arguments: [runId]) {
                let n: Int = try row["n"]
                states[try row["state"], default: 0] += n
                if let outcome: String = try row["outcome"] { outcomes[outcome, default: 0] += n }
            }
            return (states, outcomes)
        }
    }

    /// Events of a run after `afterId`, oldest first; `background` as for `items`.
    public func events(_ runId: String, after afterId: Int64 = 0, limit: Int = 500, background: Bool = false) async throws -> [ImportEvent] {
        try await db.read(background: background) { db in
            try ImportEvent.fetchAll(db, sql: "SELECT * FROM import_events WHERE run_id = ? AND id > ? ORDER BY id LIMIT ?",
                                    arguments: [runId, afterId, limit])
        }
    }

    /// Runs newest first: filtered by state and by `q` (run id, provider or host), before the cursor (a run's
    /// `created_at:id`), `limit + 1` rows for the caller's next cursor.
    public func list(state: ImportRun.State?, q: String?, before cursor: (Int64, String)?, limit: Int) async throws -> [ImportRun] {
        try await db.read { db in
            var filter = SQLFilter()
            if let state { filter.add("state = ?", [state.rawValue]) }
            if let q, !q.isEmpty {
                let needle = "%" + q.lowercased() + "%"
                filter.add("lower(id) LIKE ? OR lower(search) LIKE ?", [needle, needle])
            }
            if let (createdAt, id) = cursor { filter.add("created_at < ? OR (created_at = ? AND id < ?)", [createdAt, createdAt, id]) }
            return try ImportRun.fetchAll(db, sql: "SELECT * FROM import_runs\(filter.whereClause) ORDER BY created_at DESC, id DESC LIMIT ?",
                                          arguments: filter.arguments + [limit + 1])
        }
    }

    /// The unfinished run that references a channel, if any (a channel in use cannot be deleted).
    public func runHolding(channelId: Int64) async throws -> String? {
        try await db.read { db in
            try String.fetchOne(db, sql: """
                SELECT r.id FROM import_items i JOIN import_runs r ON r.id = i.run_id
                WHERE i.channel_id = ? AND r.state IN ('queued','running') LIMIT 1
                """, arguments: [channelId])
        }
    }

    /// Cancels every item that has not finished and the jobs that would work on them; `import.finalize` then
    /// sets the run's state. Channels the run left in `confirming` are disabled (recorded, so a rollback can
    /// undo them). Returns false when the run had already ended.
    public func cancel(_ runId: String) async throws -> Bool {
        let now = clock.nowMillis()
        return try await db.write { db in
            guard let run = try ImportRun.fetchOne(db, key: runId) else { throw StoreError.notFound("run \(runId) not found") }
            guard !run.state.isFinal else { return false }
            let open = try ImportItem.fetchAll(db, sql: """
                SELECT * FROM import_items WHERE run_id = ? AND state NOT IN ('succeeded', 'failed', 'cancelled') ORDER BY idx
                """, arguments: [runId])
            for var item in open {
                if let channelId = item.channelId, item.state == .confirming {
                    try ImportProgress.settleChannel(db, runId: runId, item: item.index, channelId: channelId,
                                                     to: .disabled, reason: "import \(runId) cancelled before confirmation", now: now)
                }
                item.state = .cancelled
                item.outcome = .cancelled
                item.classification = "cancelled"
                item.probeUntil = nil
                item.updatedAt = now
                try item.update(db)
                try ImportEvent.append(db, runId: runId, item: item.index, type: "item.cancelled", at: now)
            }
            try queue.cancel(uniqueKeys: open.flatMap { [ImportJobs.itemKey(runId, $0.index), ImportJobs.confirmKey(runId, $0.index)] }, in: db)
            try ImportProgress.enqueueFinalizeIfDone(db, runId: runId, queue: queue)
            return true
        }
    }
}
