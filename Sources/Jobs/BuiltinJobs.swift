import Artifacts
import Scheduler
import Store

/// The built-in job kinds and schedules every daemon knows.
public enum BuiltinJobs {
    /// Every built-in handler; the maintenance kinds work on `db` and write their artifacts with `artifacts`.
    public static func registry(driver: any QueueDriver, db: AppDatabase, artifacts: ArtifactWriter) -> JobRegistry {
        JobRegistry([
            TestJob.noop, TestJob.sleep,
            PruneJob(driver: driver, db: db, artifacts: artifacts),
            SettleJob(db: db, artifacts: artifacts, clock: driver.clock),
            PurgeJob(db: db, artifacts: artifacts, clock: driver.clock),
        ])
    }

    /// `reconcile.run`'s handler needs keys and the catalog: `serve` registers it from a `ReconcileEnvironment`.
    public static let schedules: [Schedule] = [
        schedule(MaintenanceJobs.prune, every: .seconds(24 * 3600)),
        schedule(MaintenanceJobs.settle, every: .seconds(60)),
        schedule(MaintenanceJobs.purge, every: .seconds(3600)),
        schedule(MaintenanceJobs.nodesProbe, every: .seconds(30)),
        schedule(ReconcileJobs.run, every: .seconds(15 * 60)),
    ]

    /// A schedule named after the kind it runs, on the kind's queue.
    static func schedule<Args>(_ kind: JobKind<Args>, every interval: Duration) -> Schedule {
        Schedule(name: kind.name, kind: kind.name, queue: kind.queue, interval: interval)
    }
}
