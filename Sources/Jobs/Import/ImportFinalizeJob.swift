import Foundation
import Scheduler
import Store

/// `import.finalize`: once every item is final, sets the run's state and writes its artifact (summary.json +
/// events.jsonl), exactly once: a re-run after a crash finds the artifact already in place and only records it.
struct ImportFinalizeJob: JobHandler {
    let kind = ImportJobs.finalize.name
    let env: ImportEnvironment

    func run(_ context: JobContext) async throws -> JobResult {
        let args = try ImportJobs.finalize.arguments(in: context)
        guard let run = try await env.runs.run(args.runId) else { throw JobError.discard("run \(args.runId) not found") }
        if run.state.isFinal && run.artifactPath != nil { return .completed }
        // A job's reads and encoding: thousands of rows, under the background policy and yielding as they go.
        let items = try await env.runs.items(run.id, background: true)
        guard items.allSatisfy(\.state.isFinal) else { return .completed }   // an unfinished item enqueues us again
        let state: ImportRun.State
        if items.contains(where: { $0.state == .cancelled }) {
            state = .cancelled
        } else if items.allSatisfy({ $0.state == .succeeded }) {
            state = .succeeded
        } else {
            state = items.contains { $0.state == .succeeded } ? .partiallySucceeded : .failed
        }
        let now = env.clock.nowMillis()
        let summary = ImportSummary(run: run, state: state, items: items, finishedAt: now)
        var lines = Data()
        var after: Int64 = 0
        var pacer = CPUYield()
        while true {
            let page = try await env.runs.events(run.id, after: after, limit: 1000, background: true)
            for event in page {
                lines.append(try JSONEncoder.sortedKeys.encode(EventLine(event)))
                lines.append(0x0A)
                pacer.ifDue()
            }
            guard let last = page.last, page.count == 1000 else { break }
            after = last.id!
        }
        let folder = try env.artifacts.write(kind: ImportSummary.kind, id: run.id, summary: summary, files: ["events.jsonl": lines])
        let path = folder.appendingPathComponent("summary.json").path
        try await env.runs.finish(runId: run.id, state: state, artifactPath: path, finishedAt: now)
        context.logger.info("import run finished", metadata: ["run_id": "\(run.id)", "state": "\(state.rawValue)", "artifact": "\(path)"])
        return .completed
    }
}
