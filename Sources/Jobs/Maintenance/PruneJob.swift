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
    public let kind = MaintenanceJobs.prune.name
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
            let count = try await db.pruneImportEvents(runsFinishedBefore: cutoff, limit: 1000)
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
