/// The storage behind the job queue (`SQLiteQueue`, `PostgresQueue`); every call is one short transaction.
public protocol QueueDriver: Sendable {
    /// Inserts jobs in one transaction; a job whose unique key is held by a live job is reported duplicate.
    func enqueue(_ jobs: [NewJob]) async throws -> [EnqueueResult]

    /// In one transaction: applies acks (fenced by lease token), extends the given leases, then claims.
    func fetch(acks: [JobAck], heartbeats: [JobLease], leaseTTL: Duration, claim: ClaimRequest?) async throws -> FetchResult

    /// The earliest `run_at` of a pending job in `queue`, or nil when none is pending.
    func nextDueTime(queue: String) async throws -> Int64?

    /// Returns running jobs whose lease expired to `retryable` (or `discarded` when out of attempts or window).
    func rescueExpired() async throws -> Int

    /// One job by id.
    func job(id: Int64) async throws -> JobRecord?

    /// A page of jobs, newest first.
    func jobs(_ query: JobQuery) async throws -> JobPage

    /// Cancels a job that has not finished; a running job loses its lease.
    func cancel(id: Int64) async throws -> JobRecord

    /// Makes a job that is not running available again now.
    func retry(id: Int64) async throws -> JobRecord

    /// Deletes up to `limit` finished jobs finalized before `before` (UTC ms); returns how many.
    func prune(finalizedBefore before: Int64, limit: Int) async throws -> Int

    /// Job counts grouped by state, kind and queue.
    func counts() async throws -> [JobCount]

    /// Adds schedules that do not exist yet; existing ones keep their operator settings.
    func register(_ schedules: [Schedule]) async throws

    /// Every schedule with its last and next slot.
    func schedules() async throws -> [ScheduleRecord]

    /// Changes a schedule's interval or enabled flag.
    func updateSchedule(name: String, interval: Duration?, enabled: Bool?) async throws -> ScheduleRecord

    /// Enqueues the schedule's job now (enabled or not); throws `notFound` for an unknown name.
    func runSchedule(name: String) async throws -> EnqueueResult

    /// Enqueues one job for each enabled schedule whose current time slot has none yet.
    func enqueueDueSchedules() async throws -> [EnqueueResult]

    /// The in-process wake-ups for this queue storage.
    var notifier: QueueNotifier { get }

    /// The clock the driver stamps rows with.
    var clock: any WallClock { get }
}
