import GRDB

/// A periodic job: one job of `kind` per time slot of `interval`, however many daemons run.
public struct Schedule: Sendable, Equatable {
    public var name: String
    public var kind: String
    public var queue: String
    public var args: String
    public var interval: Duration
    public var enabled: Bool

    public init(name: String, kind: String, queue: String = "default", args: String = "{}", interval: Duration, enabled: Bool = true) {
        self.name = name
        self.kind = kind
        self.queue = queue
        self.args = args
        self.interval = interval
        self.enabled = enabled
    }

    /// The start (UTC ms) of the slot that contains `now`: slots are aligned to the epoch.
    public static func slot(containing now: Int64, intervalMillis: Int64) -> Int64 {
        now - now % max(intervalMillis, 1)
    }
}

/// A schedule as stored, with its last slot and the time its next slot opens.
public struct ScheduleRecord: Sendable, Codable, Equatable, FetchableRecord {
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
