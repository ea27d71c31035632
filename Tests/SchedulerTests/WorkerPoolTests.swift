import Foundation
import Logging
import Scheduler
import ServiceLifecycle
import Synchronization
import Testing

/// A handler made of a closure, for tests.
struct ClosureJob: JobHandler {
    let kind: String
    let body: @Sendable (JobContext) async throws -> JobResult
    func run(_ context: JobContext) async throws -> JobResult { try await body(context) }

    /// `noop` that fails its first `fail_times` attempts.
    static let failing = ClosureJob(kind: "noop") { context in
        struct Args: Decodable { var fail_times: Int? }
        let failTimes = try context.decode(Args.self).fail_times ?? 0
        if context.job.attempt <= failTimes {
            throw JobError.retryAfter(.milliseconds(10), "planned failure \(context.job.attempt) of \(failTimes)")
        }
        return .completed
    }

    /// `sleep` for the job's `ms`.
    static let sleep = ClosureJob(kind: "sleep") { context in
        struct Args: Decodable { var ms: Int }
        try await Task.sleep(for: .milliseconds(try context.decode(Args.self).ms))
        return .completed
    }
}

/// Runs a pool in the background for the length of `body`, then stops it and waits for the drain.
func withPool(
    _ queue: any QueueDriver, _ handlers: [any JobHandler], options: WorkerOptions = WorkerOptions(pollInterval: .seconds(30)),
    _ body: (WorkerPool) async throws -> Void
) async throws {
    let pool = WorkerPool(driver: queue, registry: JobRegistry(handlers), options: options, logger: testLogger)
    let task = Task { try await pool.run() }
    do {
        try await body(pool)
    } catch {
        pool.stop()
        _ = try? await task.value
        throw error
    }
    pool.stop()
    try await task.value
}

/// Every wait here is a bound on waiting, not a speed check (60 s): the whole unit suite shares two cores, and a
/// test that keeps a cooperative thread busy delays every other one for as long.
@Suite struct WorkerPoolTests {
    @Test(arguments: Engine.allCases) func processesEveryJobOnce(_ engine: Engine) async throws {
        let t = try await TestQueue(engine)
        let runs = Mutex<[Int64: Int]>([:])
        let handler = ClosureJob(kind: "count") { ctx in
            runs.withLock { $0[ctx.job.id, default: 0] += 1 }
            return .completed
        }
        _ = try await t.queue.enqueue((0..<2000).map { _ in NewJob(kind: "count") })
        try await withPool(t.queue, [handler], options: WorkerOptions(concurrency: 50, pollInterval: .seconds(30))) { _ in
            // A bound on waiting, not a speed check: 2,000 fsynced completions beside the other suites on two cores.
            #expect(await eventually(timeout: .seconds(60)) { try await t.queue.counts().first { $0.state == .completed }?.count == 2000 })
        }
        #expect(runs.withLock { $0.count == 2000 && $0.values.allSatisfy { $0 == 1 } })
    }

    /// With an executor in its options, a pool runs its handlers on that executor's threads, after their awaits too.
    @Test(arguments: Engine.allCases) func handlersRunOnThePoolsExecutor(_ engine: Engine) async throws {
        let t = try await TestQueue(engine)
        let threads = Mutex<[String]>([])
        // The kernel's name of the running thread (BackgroundExecutor sets it).
        @Sendable func thread() -> String { (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8))?.trimmingCharacters(in: .newlines) ?? "?" }
        let handler = ClosureJob(kind: "where") { _ in
            threads.withLock { $0.append(thread()) }
            _ = try await t.queue.counts()
            try await Task.sleep(for: .milliseconds(5))
            threads.withLock { $0.append(thread()) }
            return .completed
        }
        _ = try await t.queue.enqueue((0..<4).map { _ in NewJob(kind: "where") })
        let options = WorkerOptions(concurrency: 2, pollInterval: .seconds(30), executor: BackgroundExecutor(threads: 1, name: "pool-test"))
        try await withPool(t.queue, [handler], options: options) { _ in
            #expect(await eventually(timeout: .seconds(60)) { try await t.queue.counts().first { $0.state == .completed }?.count == 4 })
        }
        let seen = threads.withLock { $0 }
        #expect(seen.count == 8)
        #expect(seen.allSatisfy { $0 == "pool-test-0" }, "handlers ran on \(Set(seen))")
    }

    @Test(arguments: Engine.allCases) func enqueueWakesAnIdleWorkerWithoutWaitingForThePoll(_ engine: Engine) async throws {
        let t = try await TestQueue(engine)
        let started = Mutex<ContinuousClock.Instant?>(nil)
        let handler = ClosureJob(kind: "mark") { _ in
            started.withLock { $0 = .now }
            return .completed
        }
        try await withPool(t.queue, [handler], options: WorkerOptions(pollInterval: .seconds(60))) { _ in
            try await Task.sleep(for: .milliseconds(200))  // the pool is idle now
            let enqueued = ContinuousClock.now
            _ = try await t.queue.enqueue([NewJob(kind: "mark")])
            #expect(await eventually(timeout: .seconds(30)) { started.withLock { $0 != nil } })
            let latency = started.withLock { $0! } - enqueued
            // Half the 60 s poll interval (room for a loaded two-core machine): only the in-process wake-up explains it.
            #expect(latency < .seconds(30))
        }
    }

    /// Another process's enqueue (its own client and notifier) wakes this one's idle worker through
    /// `LISTEN/NOTIFY`, also when it enqueues inside a transaction of its own.
    @Test func postgresEnqueueInAnotherProcessWakesAnIdleWorker() async throws {
        let t = try await TestQueue(.postgres)
        let other = try #require(try t.secondQueue() as? PostgresQueue)
        let listening = Mutex(false)
        let listener = PostgresJobListener(queue: t.postgres, retryDelay: .milliseconds(100)) { listening.withLock { $0 = true } }
        let listenerTask = Task { try await listener.run() }
        defer { listenerTask.cancel() }
        #expect(await eventually(timeout: .seconds(30)) { listening.withLock { $0 } })
        let started = Mutex<[Int64]>([])
        let handler = ClosureJob(kind: "mark") { context in
            started.withLock { $0.append(context.job.id) }
            return .completed
        }
        try await withPool(t.queue, [handler], options: WorkerOptions(pollInterval: .seconds(600))) { _ in
            try await Task.sleep(for: .milliseconds(200))  // the pool is idle now
            let first = try await other.enqueue([NewJob(kind: "mark")])[0].id
            #expect(await eventually(timeout: .seconds(30)) { started.withLock { $0 == [first] } })
            let second = try await other.client.inTransaction(logger: testLogger) { connection in
                try await other.enqueue([NewJob(kind: "mark")], in: connection)[0].id
            }
            // The 600 s poll cannot explain either run: only the notification can.
            #expect(await eventually(timeout: .seconds(30)) { started.withLock { $0 == [first, second] } })
        }
    }

    @Test(arguments: Engine.allCases) func failedJobRetriesWithBackoffUntilItSucceeds(_ engine: Engine) async throws {
        let t = try await TestQueue(engine)
        let id = try await t.queue.enqueue([NewJob(kind: "noop", args: #"{"fail_times":2}"#)])[0].id
        let options = WorkerOptions(pollInterval: .milliseconds(20), retry: RetryPolicy(base: .milliseconds(10), jitter: 0))
        try await withPool(t.queue, [ClosureJob.failing], options: options) { _ in
            #expect(await eventually(timeout: .seconds(60)) { try await t.queue.state(id) == .completed })
        }
        let row = try #require(try await t.queue.job(id: id))
        #expect(row.attempt == 3)
        #expect(row.errorMessages.contains { $0.contains("planned failure 2 of 2") } == true)
    }

    @Test(arguments: Engine.allCases) func retryWindowEndsRetriesBeforeMaxAttempts(_ engine: Engine) async throws {
        // Queue time moves by hand, one retry delay per step once the attempt before has run: a 1 s window with
        // 300 ms retries allows attempts at 0, 300, 600 and 900 ms, then the next retry (1,200 ms) is past it.
        let clock = ManualWallClock()
        let t = try await TestQueue(engine, clock: clock)
        let handler = ClosureJob(kind: "fail") { _ in throw JobError.retryAfter(.milliseconds(300), "upstream 503") }
        let id = try await t.queue.enqueue([NewJob(kind: "fail", maxAttempts: 100, retryUntil: clock.nowMillis() + 1000)])[0].id
        try await withPool(t.queue, [handler], options: WorkerOptions(pollInterval: .milliseconds(20))) { _ in
            var attempt = 0
            for _ in 0..<20 {
                let ran = await eventually(timeout: .seconds(30)) {
                    guard let job = try await t.queue.job(id: id) else { return false }
                    return job.state == .discarded || (job.attempt > attempt && job.state != .running)
                }
                #expect(ran)
                guard let job = try await t.queue.job(id: id), job.state != .discarded else { break }
                attempt = job.attempt
                clock.advance(by: .milliseconds(300))
            }
        }
        let row = try #require(try await t.queue.job(id: id))
        #expect(row.state == .discarded)
        #expect(row.attempt == 4, "the window, not max_attempts (100), ended the retries")
    }

    @Test(arguments: Engine.allCases) func handlerCanDiscardSnoozeAndCancel(_ engine: Engine) async throws {
        let t = try await TestQueue(engine)
        let snoozed = Mutex(false)
        let handlers: [any JobHandler] = [
            ClosureJob(kind: "discard") { _ in throw JobError.discard("bad input") },
            ClosureJob(kind: "snooze") { _ in
                let first = snoozed.withLock { was in defer { was = true }; return !was }
                return first ? .snooze(.milliseconds(50)) : .completed
            },
            ClosureJob(kind: "cancel") { _ in .cancel("no longer needed") },
        ]
        let ids = try await t.queue.enqueue([NewJob(kind: "discard"), NewJob(kind: "snooze"), NewJob(kind: "cancel")]).map(\.id)
        try await withPool(t.queue, handlers, options: WorkerOptions(pollInterval: .milliseconds(20))) { _ in
            #expect(await eventually(timeout: .seconds(60)) { try await t.queue.state(ids[0]) == .discarded })
            #expect(await eventually(timeout: .seconds(60)) { try await t.queue.state(ids[1]) == .completed })
            #expect(await eventually(timeout: .seconds(60)) { try await t.queue.state(ids[2]) == .cancelled })
        }
        #expect(try await t.queue.job(id: ids[1])?.attempt == 1)
    }

    @Test(arguments: Engine.allCases) func unknownKindIsRetriedNotLost(_ engine: Engine) async throws {
        let t = try await TestQueue(engine)
        let id = try await t.queue.enqueue([NewJob(kind: "mystery")])[0].id
        try await withPool(t.queue, []) { _ in
            #expect(await eventually(timeout: .seconds(60)) { try await t.queue.state(id) == .retryable })
        }
        #expect(try await t.queue.job(id: id)?.errorMessages.contains { $0.contains("no handler for kind mystery") } == true)
    }

    @Test(arguments: Engine.allCases) func drainLetsShortJobsFinishAndReleasesLongOnes(_ engine: Engine) async throws {
        let t = try await TestQueue(engine)
        let short = try await t.queue.enqueue((0..<3).map { _ in NewJob(kind: "sleep", args: #"{"ms":100}"#) }).map(\.id)
        let long = try await t.queue.enqueue([NewJob(kind: "sleep", args: #"{"ms":60000}"#)])[0].id
        let options = WorkerOptions(concurrency: 10, pollInterval: .seconds(30), drainTimeout: .seconds(3))
        let began = ContinuousClock.now
        try await withPool(t.queue, [ClosureJob.sleep], options: options) { _ in
            #expect(await eventually(timeout: .seconds(60)) { try await t.queue.state(long) == .running })
        }
        // Not a speed check: far below the long job's 60 s, so the drain did not wait for it.
        #expect(ContinuousClock.now - began < .seconds(30))
        for id in short { #expect(try await t.queue.state(id) == .completed) }
        let row = try #require(try await t.queue.job(id: long))
        #expect(row.state == .available && row.attempt == 0 && row.leaseExpiresAt == nil)
    }

    @Test(arguments: Engine.allCases) func operatorCancelStopsARunningJob(_ engine: Engine) async throws {
        let t = try await TestQueue(engine)
        let cancelled = Mutex(false)
        let handler = ClosureJob(kind: "long") { _ in
            do { try await Task.sleep(for: .seconds(60)) } catch { cancelled.withLock { $0 = true }; throw error }
            return .completed
        }
        let id = try await t.queue.enqueue([NewJob(kind: "long")])[0].id
        let options = WorkerOptions(leaseTTL: .milliseconds(300), pollInterval: .seconds(30))
        try await withPool(t.queue, [handler], options: options) { _ in
            #expect(await eventually(timeout: .seconds(60)) { try await t.queue.state(id) == .running })
            _ = try await t.queue.cancel(id: id)
            // The next heartbeat (TTL / 3) finds the lease gone and cancels the handler.
            #expect(await eventually(timeout: .seconds(30)) { cancelled.withLock { $0 } })  // well before the handler's 60 s
        }
        #expect(try await t.queue.state(id) == .cancelled)
    }

    @Test(arguments: Engine.allCases) func longJobKeepsItsLeaseThroughHeartbeats(_ engine: Engine) async throws {
        // Queue time is moved by hand, so a slow machine cannot expire the lease between heartbeats: each step moves
        // the clock half a TTL, waits for a heartbeat to push the expiry past it, and rescues (nothing to rescue).
        let clock = ManualWallClock()
        let t = try await TestQueue(engine, clock: clock)
        let done = Mutex(false)
        let hold = ClosureJob(kind: "hold") { _ in
            while !done.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(20)) }
            return .completed
        }
        let id = try await t.queue.enqueue([NewJob(kind: "hold")])[0].id
        let options = WorkerOptions(leaseTTL: .milliseconds(600), pollInterval: .seconds(30))
        try await withPool(t.queue, [hold], options: options) { _ in
            #expect(await eventually(timeout: .seconds(60)) { try await t.queue.state(id) == .running })
            for _ in 0..<6 {
                let before = try #require(try await t.queue.job(id: id)?.leaseExpiresAt)
                clock.advance(by: .milliseconds(300))
                #expect(await eventually(timeout: .seconds(30)) { (try await t.queue.job(id: id)?.leaseExpiresAt ?? 0) > before },
                        "a heartbeat extends the lease")
                #expect(try await t.queue.rescueExpired() == 0)
            }
            done.withLock { $0 = true }
            #expect(await eventually(timeout: .seconds(60)) { try await t.queue.state(id) == .completed })
        }
        #expect(try await t.queue.job(id: id)?.attempt == 1)
    }
}
