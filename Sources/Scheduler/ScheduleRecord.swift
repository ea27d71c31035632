/// A schedule as stored, with its last slot and the time its next slot opens.
public struct ScheduleRecord: Sendable, Codable, Equatable {
    public var name: String
    public var kind: String
    public var queue: String
    public var args: String
    public var intervalMs: Int64
    public var enabled: Bool
    /// The start of the last slot a job was enqueued for.
    public var lastSlotAt: Int64?
    /// The last job enqueued by this schedule.
    public var lastJobId: Int64?
    public var updatedAt: Int64

    /// When the next slot opens (UTC ms).
    public var nextRunAt: Int64 {
        guard let last = lastSlotAt else { return updatedAt }
        return last + intervalMs
    }

    enum CodingKeys: String, CodingKey {
        case name, kind, queue, args, enabled
        case intervalMs = "interval_ms"
        case lastSlotAt = "last_slot_at"
        case lastJobId = "last_job_id"
        case updatedAt = "updated_at"
    }
}
