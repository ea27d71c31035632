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
