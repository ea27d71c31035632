/// `artifacts/payloads.purge/<stamp>_<job id>/summary.json` (schema: `artifacts/schema/payloads.purge.schema.json`).
public struct PurgeSummary: Codable, Sendable {
    public var schemaVersion = 1
    public var kind = MaintenanceJobs.purge.name
    public var jobId: Int64
    public var startedAt: Int64
    public var finishedAt: Int64
    /// Rows with `expires_at` at or before this time (UTC ms) were deleted.
    public var cutoff: Int64
    public var batchSize: Int
    public var batches: Int
    public var payloadsDeleted: Int64
    /// Sealed payload bytes removed.
    public var payloadBytesDeleted: Int64
    public var tracesDeleted: Int64
    /// Dashboard rollup rows deleted (minutes after two days, hours after 400).
    public var rollupRowsDeleted: Int64
    public var rowsPerSecond: Double
    public var databaseBefore: SpaceReport
    public var databaseAfter: SpaceReport
    public var reclaim: ReclaimReport

    enum CodingKeys: String, CodingKey {
        case kind, cutoff, batches, reclaim
        case schemaVersion = "schema_version"
        case jobId = "job_id"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case batchSize = "batch_size"
        case payloadsDeleted = "payloads_deleted"
        case payloadBytesDeleted = "payload_bytes_deleted"
        case tracesDeleted = "traces_deleted"
        case rollupRowsDeleted = "rollup_rows_deleted"
        case rowsPerSecond = "rows_per_second"
        case databaseBefore = "database_before"
        case databaseAfter = "database_after"
    }
}
