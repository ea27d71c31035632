import ArgumentParser
import Foundation
import Jobs
import Logging
import Scheduler
import Store
import Synchronization

/// What one worker process reports to the queue benchmark (one JSON line on stdout).
struct WorkerReport: Codable, Sendable {
    var processed: Int
    var claimWaitP50Ms: Double
    var claimWaitP99Ms: Double
    var claimWaitMaxMs: Double
    var lockErrors: Int
    var otherErrors: Int
    var leasesLost: Int
    var firstStartMs: Int64
    var lastFinishMs: Int64
    var peakRSSMiB: Double
}

/// Collects worker events for a benchmark run.
final class BenchRecorder: Sendable {
    private struct State {
        var completedIDs: [Int64] = []
        var claimWaits = Samples()
        var lockErrors = 0
        var otherErrors = 0
        var leasesLost = 0
        var firstStart: Int64?
        var lastFinish: Int64 = 0
        var started: [Int64: ContinuousClock.Instant] = [:]
    }
    private let state = Mutex(State())
    let clock = SystemWallClock()
    let trackStarts: Bool

    init(trackStarts: Bool = false) { self.trackStarts = trackStarts }

    func handle(_ event: WorkerEvent) {
        switch event {
        case .fetched(let duration, let claimed, _):
            if claimed > 0 { state.withLock { $0.claimWaits.add(duration) } }
        case .started(let job):
            let now = ContinuousClock.now
            let wall = clock.nowMillis()
            state.withLock { s in
                if s.firstStart == nil { s.firstStart = wall }
                if trackStarts { s.started[job.id] = now }
            }
        case .finished(let lease, let outcome):
            if outcome == .completed {
                let wall = clock.nowMillis()
                state.withLock { s in
                    s.completedIDs.append(lease.id)
                    s.lastFinish = wall
                }
            }
        case .leaseLost:
            state.withLock { $0.leasesLost += 1 }
        case .fetchFailed(let error):
            let busy = "\(error)".contains("database is locked") || "\(error)".contains("SQLITE_BUSY")
            state.withLock { s in if busy { s.lockErrors += 1 } else { s.otherErrors += 1 } }
        }
    }

    var completedCount: Int { state.withLock { $0.completedIDs.count } }
    var completedIDs: [Int64] { state.withLock { $0.completedIDs } }
    func startTime(of id: Int64) -> ContinuousClock.Instant? { state.withLock { $0.started[id] } }

    func report() -> WorkerReport {
        state.withLock { s in
            WorkerReport(
                processed: s.completedIDs.count, claimWaitP50Ms: s.claimWaits.percentile(50),
                claimWaitP99Ms: s.claimWaits.percentile(99), claimWaitMaxMs: s.claimWaits.max, lockErrors: s.lockErrors,
                otherErrors: s.otherErrors, leasesLost: s.leasesLost, firstStartMs: s.firstStart ?? 0,
                lastFinishMs: s.lastFinish, peakRSSMiB: peakRSSMiB())
        }
    }
}

/// Runs a no-op worker pool on `--db` (or `--database-url`) until no job of `--queue` is pending or running, then
/// prints a `WorkerReport` and writes the ids it completed to `--ids-out`. Spawned by `bench queue --processes P`.
struct QueueBenchWorker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "queue-worker", abstract: "One process of `bench queue` (internal).", shouldDisplay: false)

    @Option var db: String?
    @Option var databaseURL: String?
    @Option var queue: String = "bench-multi"
    @Option var workers: Int = 100
    @Option var batch: Int = 100
    @Option var synchronous: SQLiteOptions.Synchronous = .full
    @Option var idsOut: String

    func run() async throws {
        let report: (report: WorkerReport, ids: [Int64])
        if let databaseURL {
            var logger = Logger(label: "bench")
            logger.logLevel = .error
            report = try await PostgresDatabase.withOpened(url: try DatabaseURL(databaseURL), poolSize: 4, migrator: nil,
                                                           logger: logger) { database in
                try await Self.drain(driver: PostgresQueue(client: database.client, logger: logger), queue: queue,
                                     workers: workers, batch: batch)
            }
        } else if let db {
            let database = try AppDatabase(options: SQLiteOptions(path: db, synchronous: synchronous))
            report = try await Self.drain(driver: Storage.queue(database), queue: queue, workers: workers, batch: batch)
        } else {
            throw ValidationError("give --db or --database-url")
        }
        try report.ids.map(String.init).joined(separator: "\n").write(toFile: idsOut, atomically: true, encoding: .utf8)
        print(String(decoding: try JSONEncoder().encode(report.report), as: UTF8.self))
    }

    /// Processes every job of `queue` with one pool; returns when none is pending or running.
    static func drain(driver: any QueueDriver, queue: String, workers: Int, batch: Int) async throws -> (report: WorkerReport, ids: [Int64]) {
        let recorder = BenchRecorder()
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let options = WorkerOptions(
            queue: queue, concurrency: workers, batchSize: batch, pollInterval: .milliseconds(20),
            onEvent: { recorder.handle($0) })
        let pool = WorkerPool(driver: driver, registry: JobRegistry([TestJob.noop]), options: options, logger: logger)
        let task = Task { try await pool.run() }
        // The queue is asked whether anything is left only once completions stop coming: counting the jobs table every
        // 20 ms while the pool works would load the database with the benchmark's own bookkeeping.
        var seen = -1
        while true {
            try await Task.sleep(for: .milliseconds(20))
            let completed = recorder.completedCount
            if completed != seen {
                seen = completed
                continue
            }
            let counts = try await driver.counts()
            let open = counts.filter { !$0.state.isFinal && $0.queue == queue }.reduce(0) { $0 + $1.count }
            if open == 0 { break }
        }
        pool.stop()
        try await task.value
        return (recorder.report(), recorder.completedIDs)
    }
}
