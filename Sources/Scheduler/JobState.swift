/// The life-cycle state of a job row.
///
/// `available`, `scheduled` and `retryable` are pending (claimable once `run_at` is due);
/// `running` holds a lease; `completed`, `cancelled` and `discarded` are final.
public enum JobState: String, Sendable, Codable, CaseIterable {
    case available
    case scheduled
    case running
    case retryable
    case completed
    case cancelled
    case discarded

    /// States a worker may claim from once the job is due.
    public static let pending: [JobState] = [.available, .scheduled, .retryable]
    /// States in which a unique key blocks a second job with the same key.
    public static let live: [JobState] = [.available, .scheduled, .running, .retryable]
    /// States that end a job's life.
    public static let final: [JobState] = [.completed, .cancelled, .discarded]

    /// Whether the job has reached a final state.
    public var isFinal: Bool { Self.final.contains(self) }
}
