/// `artifacts/yard.prune/<stamp>_<job id>/summary.json` (schema: `artifacts/schema/yard.prune.schema.json`).
public struct PruneSummary: Codable, Sendable {
    public var schemaVersion = 1
    public var kind = MaintenanceJobs.prune.name
    public var jobId: Int64
    public var startedAt: Int64
    public var finishedAt: Int64
    public var retentionS: Int64
    /// Finished jobs finalized before this time (UTC ms) were deleted.
    public var cutoff: Int64
    public var jobsDeleted: Int
    /// Events of batch-import runs that ended before the cutoff (their artifact keeps them in events.jsonl).
    public var runEventsDeleted: Int
    public var databaseBefore: SpaceReport
    public var databaseAfter: SpaceReport
    public var reclaim: ReclaimReport

    enum CodingKeys: String, CodingKey {
        case kind, cutoff, reclaim
        case schemaVersion = "schema_version"
        case jobId = "job_id"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case retentionS = "retention_s"
        case jobsDeleted = "jobs_deleted"
        case runEventsDeleted = "run_events_deleted"
        case databaseBefore = "database_before"
        case databaseAfter = "database_after"
    }
}
