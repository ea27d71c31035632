import Artifacts
import Foundation
import Logging
import Scheduler
import Store

/// `payloads.purge`: deletes payloads and traces past their expiry (set when written: 7 and 30 days by default)
/// in small batches, gives the room back (incremental vacuum, truncating WAL checkpoint) and writes an artifact
/// with rows and bytes removed and the database size before and after.
public struct PurgeJob: JobHandler {
    public let kind = MaintenanceJobs.purge.name
    let db: AppDatabase
    let artifacts: ArtifactWriter
    let clock: any WallClock

    public init(db: AppDatabase, artifacts: ArtifactWriter, clock: any WallClock = SystemWallClock()) {
        self.db = db
        self.artifacts = artifacts
        self.clock = clock
    }

    public func run(_ context: JobContext) async throws -> JobResult {
        let args = context.job.args == "{}" ? BatchSizeArgs() : try MaintenanceJobs.purge.arguments(in: context)
        let purge = RecordPurge(db: db, batchSize: args.batchSize ?? 1000)
        let space = DatabaseSpace(db: db)
        let startedAt = clock.nowMillis()
        let started = ContinuousClock.now
        let before = try await space.usage()
        let removed = try await purge.purge(now: startedAt)
        let seconds = Double((ContinuousClock.now - started).milliseconds) / 1000
        let reclaimed = try await space.reclaim()
        let after = try await space.usage()
        let rows = removed.payloads + removed.traces
        context.logger.info("payloads and traces purged", metadata: [
            "job_id": "\(context.job.id)", "payloads": "\(removed.payloads)", "traces": "\(removed.traces)",
            "bytes_before": "\(before.totalBytes)", "bytes_after": "\(after.totalBytes)",
        ])
        let summary = PurgeSummary(
            jobId: context.job.id, startedAt: startedAt, finishedAt: clock.nowMillis(), cutoff: startedAt,
            batchSize: purge.batchSize, batches: removed.batches, payloadsDeleted: removed.payloads,
            payloadBytesDeleted: removed.payloadBytes, tracesDeleted: removed.traces, rollupRowsDeleted: removed.rollups,
            rowsPerSecond: seconds > 0 ? (Double(rows) / seconds).rounded() : Double(rows),
            databaseBefore: SpaceReport(before), databaseAfter: SpaceReport(after), reclaim: ReclaimReport(reclaimed))
        try artifacts.write(kind: kind, id: String(context.job.id), summary: summary)
        return .completed
    }
}
