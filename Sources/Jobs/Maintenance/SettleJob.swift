import Artifacts
import Foundation
import Logging
import Scheduler
import Store

/// `usage.settle`: settles every unsettled usage log (see `Settlement`), refreshes the exhausted marks, and
/// writes an artifact when it settled something (an idle minute leaves no folder behind).
public struct SettleJob: JobHandler {
    public let kind = MaintenanceJobs.settle.name
    let db: AppDatabase
    let artifacts: ArtifactWriter
    let clock: any WallClock

    public init(db: AppDatabase, artifacts: ArtifactWriter, clock: any WallClock = SystemWallClock()) {
        self.db = db
        self.artifacts = artifacts
        self.clock = clock
    }

    public func run(_ context: JobContext) async throws -> JobResult {
        let args = context.job.args == "{}" ? BatchSizeArgs() : try MaintenanceJobs.settle.arguments(in: context)
        let settlement = Settlement(db: db, clock: clock, batchSize: args.batchSize ?? 5000)
        let startedAt = clock.nowMillis()
        let started = ContinuousClock.now
        let before = try await settlement.checkpoint()
        var users = Set<Int64>()
        var exhausted = Set<Int64>()
        let batches = try await settlement.settleAll { batch in
            users.formUnion(batch.userIds)
            exhausted.formUnion(batch.exhaustedUsers)
        }
        _ = try await settlement.refreshExhaustedMarks()
        let after = try await settlement.checkpoint()
        let logs: Int = batches.reduce(0) { $0 + $1.logs }
        let seconds = Double((ContinuousClock.now - started).milliseconds) / 1000
        context.logger.info("usage settled", metadata: [
            "job_id": "\(context.job.id)", "logs": "\(logs)", "batches": "\(batches.count)",
            "amount": "\(after.settledAmount - before.settledAmount)", "checkpoint": "\(after.lastLogId)",
        ])
        guard logs > 0 else { return .completed }
        let amount: Int64 = batches.reduce(0) { $0 + $1.amount }
        let cost: Int64 = batches.reduce(0) { $0 + $1.cost }
        let rate: Double = seconds > 0 ? (Double(logs) / seconds).rounded() : Double(logs)
        let summary = SettleSummary(
            jobId: context.job.id, startedAt: startedAt, finishedAt: clock.nowMillis(), batchSize: settlement.batchSize,
            batches: batches.count, logsSettled: logs, amountSettled: amount, costSettled: cost, usersDebited: users.count,
            usersExhausted: exhausted.sorted(), checkpointBefore: before.lastLogId, checkpointAfter: after.lastLogId,
            totalSettledLogs: after.settledLogs, totalSettledAmount: after.settledAmount, logsPerSecond: rate)
        try artifacts.write(kind: kind, id: String(context.job.id), summary: summary)
        return .completed
    }
}
