/// `artifacts/usage.settle/<stamp>_<job id>/summary.json` (schema: `artifacts/schema/usage.settle.schema.json`).
public struct SettleSummary: Codable, Sendable {
    public var schemaVersion = 1
    public var kind = MaintenanceJobs.settle.name
    public var jobId: Int64
    public var startedAt: Int64
    public var finishedAt: Int64
    public var batchSize: Int
    public var batches: Int
    public var logsSettled: Int
    /// Micro-units debited from balances by this run: the sum of `ceil(cost × multiplier)` per log.
    public var amountSettled: Int64
    /// The same logs' raw cost, before multipliers.
    public var costSettled: Int64
    public var usersDebited: Int
    /// Users whose balance this run ran out (the gateway answers them 429).
    public var usersExhausted: [Int64]
    public var checkpointBefore: Int64
    public var checkpointAfter: Int64
    /// Everything settled so far, across runs.
    public var totalSettledLogs: Int64
    public var totalSettledAmount: Int64
    public var logsPerSecond: Double

    enum CodingKeys: String, CodingKey {
        case kind, batches
        case schemaVersion = "schema_version"
        case jobId = "job_id"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case batchSize = "batch_size"
        case logsSettled = "logs_settled"
        case amountSettled = "amount_settled"
        case costSettled = "cost_settled"
        case usersDebited = "users_debited"
        case usersExhausted = "users_exhausted"
        case checkpointBefore = "checkpoint_before"
        case checkpointAfter = "checkpoint_after"
        case totalSettledLogs = "total_settled_logs"
        case totalSettledAmount = "total_settled_amount"
        case logsPerSecond = "logs_per_second"
    }
}
