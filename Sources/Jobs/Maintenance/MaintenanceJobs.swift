import Scheduler

/// The maintenance kinds, written once for their handlers, their schedules and their artifacts.
public enum MaintenanceJobs {
    /// The queue maintenance runs on (`--queue maintenance=N`).
    public static let queue = "maintenance"

    public static let prune = JobKind<NoArguments>("yard.prune", queue: queue)
    public static let settle = JobKind<BatchSizeArgs>("usage.settle", queue: queue)
    public static let purge = JobKind<BatchSizeArgs>("payloads.purge", queue: queue)
    public static let nodesProbe = JobKind<NoArguments>("nodes.probe", queue: queue)
}
