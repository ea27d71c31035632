import Metrics

/// The queue's counters and timers, made from the factory the process passes in (no global bootstrap).
public struct QueueMetrics: Sendable {
    let factory: any MetricsFactory

    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.factory = factory
    }

    func claimed(queue: String, count: Int) {
        Counter(label: "switchyard_jobs_claimed_total", dimensions: [("queue", queue)], factory: factory)
            .increment(by: count)
    }

    func finished(kind: String, outcome: String, duration: Duration) {
        Counter(label: "switchyard_jobs_finished_total", dimensions: [("kind", kind), ("outcome", outcome)], factory: factory)
            .increment()
        Metrics.Timer(label: "switchyard_job_duration_seconds", dimensions: [("kind", kind)], factory: factory)
            .recordNanoseconds(duration.nanoseconds)
    }

    func leaseLost(queue: String, count: Int) {
        Counter(label: "switchyard_jobs_lease_lost_total", dimensions: [("queue", queue)], factory: factory)
            .increment(by: count)
    }

    func databaseError(busy: Bool) {
        Counter(label: "switchyard_queue_db_errors_total", dimensions: [("kind", busy ? "busy" : "other")], factory: factory)
            .increment()
    }
}

extension Duration {
    /// The duration in whole nanoseconds.
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
