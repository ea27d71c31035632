import Scheduler

/// The batch-import workflow's jobs, written once for the code that enqueues them (this module) and the handlers
/// (`Jobs`): one `import.item` per item (probe, then provision), one `import.confirm` per provisioned item (access
/// through the gateway, inside the retry window), one `import.finalize` per run (state and artifact).
public enum ImportJobs {
    /// The queue import jobs run on (`--queue import=N`).
    public static let queue = "import"

    /// Which item of which run.
    public struct ItemArgs: Codable, Sendable, Equatable {
        public var runId: String
        public var index: Int
        enum CodingKeys: String, CodingKey { case runId = "run_id", index }
        public init(runId: String, index: Int) {
            self.runId = runId
            self.index = index
        }
    }

    /// Which run.
    public struct RunArgs: Codable, Sendable, Equatable {
        public var runId: String
        enum CodingKeys: String, CodingKey { case runId = "run_id" }
        public init(runId: String) { self.runId = runId }
    }

    public static let item = JobKind<ItemArgs>("import.item", queue: queue)
    public static let confirm = JobKind<ItemArgs>("import.confirm", queue: queue)
    public static let finalize = JobKind<RunArgs>("import.finalize", queue: queue)

    /// Unique keys: one live job of each kind per item (per run for `finalize`), so a retried step never doubles.
    static func itemKey(_ runId: String, _ index: Int) -> String { "\(item.name):\(runId):\(index)" }
    static func confirmKey(_ runId: String, _ index: Int) -> String { "\(confirm.name):\(runId):\(index)" }
    static func finalizeKey(_ runId: String) -> String { "\(finalize.name):\(runId)" }
}
