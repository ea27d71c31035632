import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Claims and runs the jobs of one queue with bounded concurrency. Completions are written together with the
/// next claim in one transaction; on graceful shutdown it stops claiming, lets running jobs finish within the
/// drain timeout, then cancels and releases what it still holds.
public final class WorkerPool: Service {
    let driver: any QueueDriver
    let registry: JobRegistry
    let options: WorkerOptions
    let logger: Logger
    let metrics: QueueMetrics
    let signal = WakeSignal()
    private let shared = Mutex(Shared())

    private struct Running {
        var job: ClaimedJob
        var task: Task<JobResult, any Error>?
    }

    private struct Shared {
        var running: [Int64: Running] = [:]
        var acks: [JobAck] = []
        var oldestAck: ContinuousClock.Instant?
        var stopping = false
        /// Set when the drain timeout passed: every running job, including one starting now, is cancelled.
        var cancelAll = false
    }

    public init(driver: any QueueDriver, registry: JobRegistry, options: WorkerOptions, logger: Logger, metrics: QueueMetrics = QueueMetrics()) {
        self.driver = driver
        self.registry = registry
        self.options = options
        self.logger = logger
        self.metrics = metrics
    }

    public func run() async throws {
        driver.notifier.subscribe(queue: options.queue, signal)
        defer { driver.notifier.unsubscribe(queue: options.queue, signal) }
        logger.info("worker pool started", metadata: ["queue": "\(options.queue)", "concurrency": "\(options.concurrency)"])
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                await self.loop(&group)
            }
        } onGracefulShutdown: {
            self.stop()
        }
        logger.info("worker pool stopped", metadata: ["queue": "\(options.queue)"])
    }

    /// Stops claiming and starts the drain; `run()` returns once nothing is held.
    public func stop() {
        shared.withLock { $0.stopping = true }
        signal.raise(.stop)
    }

    private func loop(_ group: inout DiscardingTaskGroup) async {
        let threshold = max(1, min(options.batchSize, options.concurrency) / 2)
        let heartbeatEvery = options.leaseTTL / 3
        var queueHasWork = true
        var nextHeartbeat = ContinuousClock.now + heartbeatEvery
        var nextPoll = ContinuousClock.now
        var drainDeadline: ContinuousClock.Instant?
        var cancelledForDrain = false
        var failures = 0

        while true {
            if Task.isCancelled { stop() }
            let now = ContinuousClock.now
            let (acks, runningCount, stopping, oldestAck) = shared.withLock { s in
                (s.acks, s.running.count, s.stopping, s.oldestAck)
            }
            if stopping, drainDeadline == nil { drainDeadline = now + options.drainTimeout }
            let free = stopping ? 0 : options.concurrency - runningCount
            let heartbeatDue = runningCount > 0 && now >= nextHeartbeat
            let ackDue = !acks.isEmpty && (acks.count >= threshold || runningCount == 0 || stopping
                || now >= (oldestAck ?? now) + options.maxAckDelay)
            let claimDue = queueHasWork && free > 0 && (free >= threshold || runningCount == 0)

            if heartbeatDue || ackDue || claimDue {
                let taken = shared.withLock { s -> [JobAck] in
                    defer { s.acks = []; s.oldestAck = nil }
                    return s.acks
                }
                let heartbeats = heartbeatDue ? shared.withLock { $0.running.values.map(\.job.lease) } : []
                let claim = queueHasWork && free > 0
                    ? ClaimRequest(queue: options.queue, owner: options.owner, limit: min(free, options.batchSize), leaseTTL: options.leaseTTL)
                    : nil
                let started = ContinuousClock.now
                do {
                    // Acks and heartbeats must reach the database while the pool is being cancelled for shutdown
                    // too: the call runs in a task of its own, which the loop's cancellation does not reach
                    // (PostgresNIO gives up at once inside a cancelled task; GRDB never looks). It is given up after
                    // five seconds: a database that is away must not hold the loop, or its shutdown, for long. A claim
                    // given up on is rescued when its leases expire. (Not the lease TTL: a short TTL on a busy machine
                    // would give up answers that still matter, such as the heartbeat that finds a lease cancelled.)
                    let (driver, leaseTTL) = (driver, options.leaseTTL)
                    let result = try await answer(within: .seconds(5)) {
                        try await driver.fetch(acks: taken, heartbeats: heartbeats, leaseTTL: leaseTTL, claim: claim)
                    }
                    failures = 0
                    options.onEvent?(.fetched(duration: .now - started, claimed: result.claimed.count, acked: taken.count))
                    if heartbeatDue { nextHeartbeat = ContinuousClock.now + heartbeatEvery }
                    handleLost(acks: result.lostAcks, leases: result.lostLeases)
                    reportFinished(taken, lost: Set(result.lostAcks.map(\.id)))
                    if let claim {
                        queueHasWork = result.claimed.count == claim.limit
                        if !result.claimed.isEmpty { metrics.claimed(queue: options.queue, count: result.claimed.count) }
                    }
                    for job in result.claimed { start(job, in: &group) }
                } catch {
                    failures += 1
                    shared.withLock { s in
                        s.acks = taken + s.acks
                        s.oldestAck = s.oldestAck ?? started
                    }
                    metrics.databaseError(busy: "\(error)".contains("database is locked"))
                    options.onEvent?(.fetchFailed(error))
                    if stopping, let deadline = drainDeadline, ContinuousClock.now >= deadline {
                        // Shutting down with the database away: the acks are not written, and their jobs are
                        // rescued when their leases expire (a job runs at least once, never lost).
                        logger.error("database unreachable at shutdown; acks not written, their jobs will be rescued",
                                     metadata: ["queue": "\(options.queue)", "acks": "\(taken.count)", "error": "\(PostgresErrorText.describe(error))"])
                        shared.withLock { $0.acks = [] }
                        return
                    }
                    // The first failure, then one line in twenty: a database that is away is not a log flood.
                    if failures == 1 || failures % 20 == 0 {
                        logger.error("fetch failed; keeping acks and retrying", metadata: [
                            "queue": "\(options.queue)", "error": "\(PostgresErrorText.describe(error))", "failures": "\(failures)",
                        ])
                    }
                    let pause = Duration.milliseconds(Int64.random(in: 50...150) * Int64(min(failures, 20)))
                    _ = await signal.wait(until: .now + pause)
                }
                continue
            }

            if stopping {
                if runningCount == 0 && acks.isEmpty { return }
                if let deadline = drainDeadline, now >= deadline, !cancelledForDrain {
                    cancelledForDrain = true
                    logger.warning("drain timeout: cancelling running jobs", metadata: ["running": "\(runningCount)"])
                    let tasks = shared.withLock { s in
                        s.cancelAll = true
                        return s.running.values.compactMap(\.task)
                    }
                    for task in tasks { task.cancel() }
                }
            }

            var deadline = ContinuousClock.now + .seconds(3600)
            if runningCount > 0 { deadline = min(deadline, nextHeartbeat) }
            if let oldestAck { deadline = min(deadline, oldestAck + options.maxAckDelay) }
            if !queueHasWork && !stopping { deadline = min(deadline, nextPoll) }
            if let drainDeadline, !cancelledForDrain { deadline = min(deadline, drainDeadline) }
            let reasons = await signal.wait(until: deadline)
            if reasons.contains(.work) { queueHasWork = true }
            if !queueHasWork && !stopping && ContinuousClock.now >= nextPoll {
                queueHasWork = await pollDue(nextPoll: &nextPoll)
            }
        }
    }

    /// A cheap read (no write lock) that finds work other processes enqueued or that became due.
    private func pollDue(nextPoll: inout ContinuousClock.Instant) async -> Bool {
        nextPoll = .now + options.pollInterval
        do {
            // Bounded as the fetch is: a poll that never returns would keep the pool from stopping.
            let (driver, queue) = (driver, options.queue)
            guard let due = try await answer(within: .seconds(5), { try await driver.nextDueTime(queue: queue) }) else { return false }
            let wait = due - driver.clock.nowMillis()
            if wait <= 0 { return true }
            nextPoll = min(nextPoll, .now + .milliseconds(wait))
        } catch {
            logger.error("poll failed", metadata: ["queue": "\(options.queue)", "error": "\(PostgresErrorText.describe(error))"])
        }
        return false
    }

    private func start(_ job: ClaimedJob, in group: inout DiscardingTaskGroup) {
        shared.withLock { $0.running[job.id] = Running(job: job, task: nil) }
        options.onEvent?(.started(job))
        group.addTask(executorPreference: options.executor, priority: options.priority) {
            let began = ContinuousClock.now
            let outcome = await self.execute(job)
            self.metrics.finished(kind: job.kind, outcome: Self.label(outcome), duration: .now - began)
            self.shared.withLock { s in
                s.running[job.id] = nil
                s.acks.append(JobAck(lease: job.lease, outcome: outcome))
                if s.oldestAck == nil { s.oldestAck = .now }
            }
            self.signal.raise(.completion)
        }
    }

    private func execute(_ job: ClaimedJob) async -> JobAck.Outcome {
        guard let handler = registry.handler(for: job.kind) else {
            return failure(job, "no handler for kind \(job.kind) on this worker", delay: nil, handler: nil)
        }
        var jobLogger = logger
        jobLogger[metadataKey: "job_id"] = "\(job.id)"
        jobLogger[metadataKey: "job_kind"] = "\(job.kind)"
        let context = JobContext(job: job, logger: jobLogger)
        // The handler runs in its own task so that a lost lease or the drain can cancel this one job. An
        // unstructured task does not inherit the pool's executor preference: it is passed on, or the handler
        // would run on the global executor (beside a gateway: its event loops) instead of the pool's threads.
        let task = Task(executorPreference: options.executor) { try await handler.run(context) }
        let cancelNow = shared.withLock { s -> Bool in
            s.running[job.id]?.task = task
            return s.cancelAll
        }
        if cancelNow { task.cancel() }
        do {
            let result = try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
            switch result {
            case .completed: return .completed
            case .snooze(let delay): return .snoozed(until: driver.clock.nowMillis() + delay.milliseconds)
            case .cancel(let reason): return .cancelled(reason: reason)
            }
        } catch is CancellationError {
            return .released
        } catch let error as JobError {
            if error.code == .discard { return .failed(error: error.message, retryAt: nil) }
            return failure(job, error.message, delay: error.delay, handler: handler)
        } catch {
            // PostgreSQL's errors by their message and SQLSTATE, not PostgresNIO's "Generic description".
            return failure(job, PostgresErrorText.describe(error), delay: nil, handler: handler)
        }
    }

    /// Decides retry or discard: out of attempts or past the retry window means discarded.
    private func failure(_ job: ClaimedJob, _ message: String, delay: Duration?, handler: (any JobHandler)?) -> JobAck.Outcome {
        let text = String(message.prefix(2000))
        if job.attempt >= job.maxAttempts { return .failed(error: text, retryAt: nil) }
        let wait = delay ?? handler?.backoff(attempt: job.attempt, policy: options.retry) ?? options.retry.delay(afterAttempt: job.attempt)
        let retryAt = driver.clock.nowMillis() + wait.milliseconds
        if let until = job.retryUntil, retryAt > until { return .failed(error: text, retryAt: nil) }
        return .failed(error: text, retryAt: retryAt)
    }

    private func handleLost(acks: [JobLease], leases: [JobLease]) {
        let all = acks + leases
        guard !all.isEmpty else { return }
        metrics.leaseLost(queue: options.queue, count: all.count)
        for lease in all {
            options.onEvent?(.leaseLost(lease))
            logger.warning("lease lost; nothing written for this job", metadata: ["job_id": "\(lease.id)"])
        }
        // A job still running whose lease is gone (cancelled by an operator, or taken over) is cancelled here.
        let tasks = shared.withLock { s in leases.compactMap { s.running[$0.id]?.task } }
        for task in tasks { task.cancel() }
    }

    private func reportFinished(_ acks: [JobAck], lost: Set<Int64>) {
        guard let onEvent = options.onEvent else { return }
        for ack in acks where !lost.contains(ack.lease.id) { onEvent(.finished(ack.lease, ack.outcome)) }
    }

    private static func label(_ outcome: JobAck.Outcome) -> String {
        switch outcome {
        case .completed: "completed"
        case .failed(_, let retryAt): retryAt == nil ? "discarded" : "retryable"
        case .snoozed: "snoozed"
        case .cancelled: "cancelled"
        case .released: "released"
        }
    }
}
