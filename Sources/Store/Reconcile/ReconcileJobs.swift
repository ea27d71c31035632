import Scheduler

/// The reconcile workflow's one job kind, written once for the API that starts a run and the handler.
public enum ReconcileJobs {
    /// Reconcile runs share the maintenance queue.
    public static let queue = "maintenance"

    /// The run an API-started job works on; a scheduled job has none and makes its own run.
    public struct Args: Codable, Sendable, Equatable {
        public var runId: String
        enum CodingKeys: String, CodingKey { case runId = "run_id" }
        public init(runId: String) { self.runId = runId }
    }

    public static let run = JobKind<Args>("reconcile.run", queue: queue)

    static func runKey(_ runId: String) -> String { "\(run.name):\(runId)" }
}
