import Foundation
import Scheduler

/// The repository of reconcile runs: runs, their per-channel results, the channel fixes and the jobs that drive
/// them, each written in one transaction with what it depends on.
public struct ReconcileRepository: Sendable {
    public let db: AppDatabase
    let queue: StoreQueue

    public init(db: AppDatabase, queue: StoreQueue) {
        self.db = db
        self.queue = queue
    }

    /// The clock the queue stamps rows with.
    public var clock: any WallClock { queue.clock }

    /// Stores a queued run and its job in one transaction.
    public func create(dryRun: Bool) async throws -> ReconcileRun {
        let run = ReconcileRun(dryRun: dryRun, trigger: .api, now: clock.nowMillis())
        return try await db.write { [queue] db in
            try run.insert(db)
            _ = try queue.enqueue([try ReconcileJobs.run.job(ReconcileJobs.Args(runId: run.id), uniqueKey: ReconcileJobs.runKey(run.id))],
                                  in: db)
            return run
        }
    }

    /// The run a scheduled job works on: the one it started before (a re-run after a crash), else a new one.
    public func run(forJob jobId: Int64) async throws -> ReconcileRun {
        let now = clock.nowMillis()
        return try await db.write { db in
            if let existing = try ReconcileRun.fetchOne(db, sql: "SELECT * FROM reconcile_runs WHERE job_id = ?", arguments: [jobId]) { return existing }
            let run = ReconcileRun(dryRun: false, trigger: .schedule, jobId: jobId, now: now)
            try run.insert(db)
            return run
        }
    }

    /// Starts a queued run: one pending result per channel, so progress and the delete guard see them at once.
    /// Returns the run and the channels still to check (all of them, or what a crashed attempt left); nil once final.
    public func begin(_ runId: String, jobId: Int64) async throws -> (run: ReconcileRun, pending: [Int64])? {
        let now = clock.nowMillis()
        return try await db.write { db in
            guard var run = try ReconcileRun.fetchOne(db, key: runId) else { throw StoreError.notFound("reconcile run \(runId) not found") }
            guard !run.state.isFinal else { return nil }
            if run.state == .queued {
                let channels = try RelayChannel.fetchAll(db, sql: "SELECT * FROM channels ORDER BY id")
                for channel in channels { try ReconcileResult(runId: runId, channel: channel).insert(db) }
                run.state = .running
                run.total = channels.count
                run.startedAt = now
                run.jobId = jobId
                try run.update(db)
            }
            let pending = try Int64.fetchAll(db, sql: """
                SELECT channel_id FROM reconcile_results WHERE run_id = ? AND drift IS NULL ORDER BY channel_id
                """, arguments: [runId])
            return (run, pending)
        }
    }

    /// A channel as stored now (nil once deleted).
    public func channel(_ id: Int64) async throws -> RelayChannel? {
        try await db.read { db in try RelayChannel.fetchOne(db, key: id) }
    }

    /// Decides the channel's drift against the row as it is now, applies the fix unless a dry run, and records
    /// the result, all in one transaction (so a crash never leaves a fix without its result or the other way).
    @discardableResult
    public func record(_ runId: String, channelId: Int64, observation: ReconcileObservation?, dryRun: Bool,
                       unreachableAfter: Int) async throws -> ReconcileResult? {
        let now = clock.nowMillis()
        return try await db.write { db in
            guard var result = try ReconcileResult.fetchOne(db, key: ["run_id": runId, "channel_id": channelId]),
                  result.drift == nil else { return nil }
            guard let channel = try RelayChannel.fetchOne(db, key: channelId) else {
                // Deleted after the run started (only possible while no run held it): reported as gone.
                result.drift = .disabled
                result.detail = "deleted while the run was going"
                result.finishedAt = now
                try result.update(db)
                return result
            }
            let streak = observation?.reach == .unreachable ? try Self.unreachableStreak(db, channelId: channelId) + 1 : 0
            let outcome = ReconcilePolicy.decide(channel, observation, unreachableStreak: streak, unreachableAfter: unreachableAfter,
                                                 now: now)
            result.name = channel.name
            result.provider = channel.provider
            result.keyFingerprint = channel.keyFingerprint
            result.before = ChannelSnapshot(channel)
            result.after = ChannelSnapshot(outcome.after)
            result.drift = outcome.drift
            result.detail = dryRun && outcome.changed ? "dry run, not applied: " + (outcome.detail ?? "") : outcome.detail
            result.applied = outcome.changed && !dryRun
            result.finishedAt = now
            if result.applied { try outcome.after.update(db) }
            try result.update(db)
            return result
        }
    }

    /// Consecutive earlier applied runs (not dry runs) that found the channel unreachable, newest first.
    static func unreachableStreak(_ db: any StoreConnection, channelId: Int64) throws -> Int {
        let drifts = try String.fetchAll(db, sql: """
            SELECT r.drift FROM reconcile_results r JOIN reconcile_runs u ON u.id = r.run_id
            WHERE r.channel_id = ? AND r.drift IS NOT NULL AND u.dry_run = 0 ORDER BY r.finished_at DESC, u.created_at DESC LIMIT 100
            """, arguments: [channelId])
        return drifts.prefix { $0 == Drift.unreachable.rawValue }.count
    }

    /// Ends a run: its artifact path, or the error that stopped it.
    public func finish(_ runId: String, artifactPath: String?, error: String? = nil) async throws {
        let now = clock.nowMillis()
        try await db.write { db in
            guard var run = try ReconcileRun.fetchOne(db, key: runId), !run.state.isFinal else { return }
            run.state = error == nil ? .succeeded : .failed
            run.artifactPath = artifactPath
            run.error = error
            run.finishedAt = now
            try run.update(db)
        }
    }

    public func run(_ id: String) async throws -> ReconcileRun? {
        try await db.read { db in try ReconcileRun.fetchOne(db, key: id) }
    }

    /// A run's results by channel id (pending ones included).
    public func results(_ runId: String) async throws -> [ReconcileResult] {
        try await db.read { db in
            try ReconcileResult.fetchAll(db, sql: "SELECT * FROM reconcile_results WHERE run_id = ? ORDER BY channel_id", arguments: [runId])
        }
    }

    /// Finished results of a run by drift kind, and how many are still pending.
    public func counts(_ runId: String) async throws -> (drifts: [String: Int], pending: Int) {
        try await db.read { db in
            var drifts: [String: Int] = [:]
            var pending = 0
            for row in try SQLRow.fetchAll(db, sql: "SELECT drift, count(*) AS n FROM reconcile_results WHERE run_id = ? GROUP BY drift",
                                        arguments: [runId]) {
                if let drift: String = try row["drift"] { drifts[drift] = try row["n"] } else { pending = try row["n"] }
            }
            return (drifts, pending)
        }
    }

    /// Runs newest first, before the cursor (a run's `created_at:id`), `limit + 1` rows for the caller's next cursor.
    public func list(before cursor: (Int64, String)?, limit: Int) async throws -> [ReconcileRun] {
        try await db.read { db in
            var filter = SQLFilter()
            if let (createdAt, id) = cursor { filter.add("created_at < ? OR (created_at = ? AND id < ?)", [createdAt, createdAt, id]) }
            return try ReconcileRun.fetchAll(db, sql: "SELECT * FROM reconcile_runs\(filter.whereClause) ORDER BY created_at DESC, id DESC LIMIT ?",
                                             arguments: filter.arguments + [limit + 1])
        }
    }

    /// The unfinished run that references a channel, if any, inside the caller's transaction (so a delete that
    /// checks it cannot race a run starting).
    static func runHolding(_ db: any StoreConnection, channelId: Int64) throws -> String? {
        try String.fetchOne(db, sql: """
            SELECT u.id FROM reconcile_results r JOIN reconcile_runs u ON u.id = r.run_id
            WHERE r.channel_id = ? AND u.state IN ('queued','running') LIMIT 1
            """, arguments: [channelId])
    }
}
