import Artifacts
import Foundation
import Logging
import Scheduler
import Store

/// `yard.prune`: deletes finished jobs, and the events of batch-import runs that ended, older than the retention,
/// in small batches so no write holds the file long,
/// then gives the room back (incremental vacuum, truncating WAL checkpoint) and writes an artifact with the
/// database size before and after.
public struct PruneJob: JobHandler {
    public let kind = "yard.prune"
    let driver: any QueueDriver
    let db: AppDatabase
    let artifacts: ArtifactWriter
    let retention: Duration

    public init(driver: any QueueDriver, db: AppDatabase, artifacts: ArtifactWriter, retention: Duration = .seconds(7 * 24 * 3600)) {
        self.driver = driver
        self.db = db
        self.artifacts = artifacts
        self.retention = retention
    }

    public func run(_ context: JobContext) async throws -> JobResult {
        let space = DatabaseSpace(db: db)
        let startedAt = driver.clock.nowMillis()
        let before = try await space.usage()
        let cutoff = startedAt - retention.milliseconds
        var deleted = 0
        while true {
            try Task.checkCancellation()
            let count = try await driver.prune(finalizedBefore: cutoff, limit: 1000)
            deleted += count
            if count < 1000 { break }
        }
        var events = 0
        while true {
            try Task.checkCancellation()
            let count = try await db.backgroundWrite { db in try ImportEvent.prune(db, runsFinishedBefore: cutoff, limit: 1000) }
            events += count
            if count < 1000 { break }
        }
        let reclaimed = try await space.reclaim()
        let after = try await space.usage()
        context.logger.info("pruned finished jobs", metadata: [
            "job_id": "\(context.job.id)", "deleted": "\(deleted)", "run_events_deleted": "\(events)",
            "bytes_before": "\(before.totalBytes)", "bytes_after": "\(after.totalBytes)",
        ])
        let summary = PruneSummary(
            jobId: context.job.id, startedAt: startedAt, finishedAt: driver.clock.nowMillis(), retentionS: retention.milliseconds / 1000,
            cutoff: cutoff, jobsDeleted: deleted, runEventsDeleted: events, databaseBefore: SpaceReport(before), databaseAfter: SpaceReport(after),
            reclaim: ReclaimReport(reclaimed))
        try artifacts.write(kind: kind, id: String(context.job.id), summary: summary)
        return .completed
    }
}

/// The built-in job kinds and schedules every daemon knows.
public enum BuiltinJobs {
    /// Every built-in handler; the maintenance kinds work on `db` and write their artifacts with `artifacts`.
    public static func registry(driver: any QueueDriver, db: AppDatabase, artifacts: ArtifactWriter) -> JobRegistry {
        JobRegistry([
            TestJob.noop, TestJob.sleep,
            PruneJob(driver: driver, db: db, artifacts: artifacts),
            SettleJob(db: db, artifacts: artifacts, clock: driver.clock),
            PurgeJob(db: db, artifacts: artifacts, clock: driver.clock),
        ])
    }

    /// `reconcile.run`'s handler needs keys and the catalog: `serve` registers it from a `ReconcileEnvironment`.
    public static let schedules: [Schedule] = [
        Schedule(name: "yard.prune", kind: "yard.prune", queue: "maintenance", interval: .seconds(24 * 3600)),
        Schedule(name: "usage.settle", kind: "usage.settle", queue: "maintenance", interval: .seconds(60)),
        Schedule(name: "payloads.purge", kind: "payloads.purge", queue: "maintenance", interval: .seconds(3600)),
        Schedule(name: "nodes.probe", kind: "nodes.probe", queue: "maintenance", interval: .seconds(30)),
        Schedule(name: ReconcileRuns.kind, kind: ReconcileRuns.kind, queue: ReconcileRuns.queueName, interval: .seconds(15 * 60)),
    ]
}
