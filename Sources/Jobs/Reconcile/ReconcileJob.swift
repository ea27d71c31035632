import Foundation
import Logging
import Probe
import Scheduler
import Store

/// `reconcile.run`: compares every channel's stored truth (models, key, capabilities, status) with its
/// upstream's, a bounded number of channels at a time, and fixes each unless the run is a dry run; then writes
/// `artifacts/reconcile.run/<stamp>_<run id>/summary.json`. A run started by the schedule makes its own run row
/// (found again by job id after a crash); a re-run only checks the channels the last attempt left pending.
struct ReconcileJob: JobHandler {
    let kind = ReconcileJobs.run.name
    let env: ReconcileEnvironment

    func run(_ context: JobContext) async throws -> JobResult {
        let runId = context.job.args == "{}"
            ? try await env.runs.run(forJob: context.job.id).id
            : try ReconcileJobs.run.arguments(in: context).runId
        let logger = context.logger.with(["job_id": "\(context.job.id)", "run_id": "\(runId)"])
        do {
            guard let begun = try await env.runs.begin(runId, jobId: context.job.id) else { return .completed }
            let (run, pending) = begun
            logger.info("reconcile started", metadata: ["channels": "\(run.total)", "pending": "\(pending.count)", "dry_run": "\(run.dryRun)"])
            let applied = try await check(pending, run: run, logger: logger)
            // The gateway serves the fixes before the run reads as finished.
            if applied > 0 { await env.changed.fire() }
            let results = try await env.runs.results(runId)
            let summary = ReconcileSummary(run: run, jobId: context.job.id, finishedAt: env.runs.clock.nowMillis(), results: results)
            let folder = try env.artifacts.write(kind: kind, id: runId, summary: summary)
            try await env.runs.finish(runId, artifactPath: folder.path)
            logger.info("reconcile finished", metadata: [
                "applied": "\(summary.channels.filter(\.applied).count)",
                "drift": "\(summary.counts.filter { $0.value > 0 }.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: ","))",
            ])
            return .completed
        } catch let error where !(error is CancellationError) && context.job.attempt >= context.job.maxAttempts {
            // The last attempt: the run must not stay `running` (it would hold its channels against deletion).
            try? await env.runs.finish(runId, artifactPath: nil, error: "\(error)")
            throw error
        }
    }

    /// Checks the channels, `env.concurrency` at a time; returns how many fixes were written.
    private func check(_ pending: [Int64], run: ReconcileRun, logger: Logger) async throws -> Int {
        let observer = ChannelObserver(check: UpstreamCheck(probe: env.probe, catalog: env.catalog))
        let env = self.env
        return try await withThrowingTaskGroup(of: Bool.self) { group in
            var next = pending.makeIterator()
            for _ in 0..<env.concurrency {
                guard let id = next.next() else { break }
                group.addTask { try await Self.checkOne(id, run: run, observer: observer, env: env, logger: logger) }
            }
            var applied = 0
            while let wrote = try await group.next() {
                if wrote { applied += 1 }
                try Task.checkCancellation()
                if let id = next.next() {
                    group.addTask { try await Self.checkOne(id, run: run, observer: observer, env: env, logger: logger) }
                }
            }
            return applied
        }
    }

    private static func checkOne(_ id: Int64, run: ReconcileRun, observer: ChannelObserver, env: ReconcileEnvironment,
                                 logger: Logger) async throws -> Bool {
        guard let channel = try await env.runs.channel(id) else {
            return try await env.runs.record(run.id, channelId: id, observation: nil, dryRun: run.dryRun,
                                             unreachableAfter: env.unreachableAfter)?.applied ?? false
        }
        var observation: ReconcileObservation?
        if channel.status != .disabled {
            do {
                observation = await observer.observe(channel, key: try env.secrets.openString(channel.apiKeySealed))
            } catch {
                observation = ReconcileObservation(reach: .unreachable, passes: false, detail: "the channel's key cannot be opened")
            }
        }
        let result = try await env.runs.record(run.id, channelId: id, observation: observation, dryRun: run.dryRun,
                                               unreachableAfter: env.unreachableAfter)
        if let result {
            logger.info("channel reconciled", metadata: [
                "channel_id": "\(id)", "drift": "\(result.drift?.rawValue ?? "-")", "applied": "\(result.applied)",
            ])
        }
        return result?.applied ?? false
    }
}
