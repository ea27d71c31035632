import Foundation
import Store

/// A reconcile run as `/api/reconcile/runs` shows it: state, progress, counts by drift kind and (for one run)
/// each channel's result. Keys appear as fingerprints only.
struct ReconcileRunView: Encodable {
    let runId: String
    let state: String
    let dryRun: Bool
    let trigger: String
    let jobId: Int64?
    let total: Int
    let progress: Progress
    let counts: [String: Int]
    let createdAt: Int64
    let startedAt: Int64?
    let finishedAt: Int64?
    let artifactPath: String?
    let error: String?
    let results: [ReconcileResult]?
    let links: [String: String]

    struct Progress: Encodable {
        let done: Int
        let remaining: Int
        let percent: Int
    }

    enum CodingKeys: String, CodingKey {
        case state, trigger, total, progress, counts, error, results, links
        case runId = "run_id"
        case dryRun = "dry_run"
        case jobId = "job_id"
        case createdAt = "created_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case artifactPath = "artifact_path"
    }

    init(_ run: ReconcileRun, drifts: [String: Int] = [:], pending: Int = 0, results: [ReconcileResult]? = nil) {
        runId = run.id
        state = run.state.rawValue
        dryRun = run.dryRun
        trigger = run.trigger.rawValue
        jobId = run.jobId
        total = run.total
        let done = run.total - pending
        progress = Progress(done: done, remaining: pending, percent: run.total == 0 ? (run.state.isFinal ? 100 : 0) : done * 100 / run.total)
        var counts = Dictionary(uniqueKeysWithValues: Drift.allCases.map { ($0.rawValue, 0) })
        counts.merge(drifts) { $1 }
        self.counts = counts
        createdAt = run.createdAt
        startedAt = run.startedAt
        finishedAt = run.finishedAt
        artifactPath = run.artifactPath
        error = run.error
        self.results = results
        links = ["self": Self.link(run.id)]
    }

    static func link(_ id: String) -> String { "/api/reconcile/runs/\(id)" }
}
