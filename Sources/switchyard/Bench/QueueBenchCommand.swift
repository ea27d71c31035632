import ArgumentParser
import Foundation
import Jobs
import Logging
import Scheduler
import Store

/// `switchyard bench queue`: enqueue and processing figures for the job queue, on fresh SQLite files or, with
/// `--database-url`, on a scratch PostgreSQL database (each phase on a `bench*` queue of its own). Each processing
/// phase starts from an empty jobs table: a fresh file on SQLite, a truncated table on PostgreSQL (the peer's
/// benchmark creates a fresh database per phase; the dead rows one run leaves behind would slow the next one's claims
/// until autovacuum reaches them).
struct QueueBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue", abstract: "Benchmark the job queue (SQLite files, or PostgreSQL with --database-url).")

    @Option(help: "Jobs per phase.") var jobs: Int = 20000
    @Option(help: "Concurrent jobs per worker process.") var workers: Int = 100
    @Option(help: "Jobs claimed per transaction.") var batch: Int = 100
    @Option(help: "Worker processes sharing one file in the multi-process phase.") var processes: Int = 2
    @Option(help: "Single-transaction enqueues measured.") var singles: Int = 2000
    @Option(help: "Enqueue-to-start samples with an idle worker.") var latencySamples: Int = 300
    @Option(help: "SQLite durability: full or normal.") var synchronous: SQLiteOptions.Synchronous = .full
    @Option(help: "Directory for the benchmark files (default: a new temp dir, removed after).") var dir: String?
    @Option(help: "Benchmark PostgreSQL at this URL instead of SQLite (env SWITCHYARD_DATABASE_URL); use a scratch database.")
    var databaseURL: String? = Env.optional("SWITCHYARD_DATABASE_URL")
    @Flag(help: "Print one JSON object instead of text.") var json = false

    struct Result: Codable {
        var jobs: Int
        var workers: Int
        var batch: Int
        var processes: Int
        /// `sqlite` or `postgresql`.
        var engine: String
        /// The engine's version and durability settings.
        var settings: String
        var fsyncP50Ms: Double
        var fsyncP99Ms: Double
        var bulkEnqueuePerSec: Double
        var singleEnqueuePerSec: Double
        var singleEnqueueCount: Int
        var processedPerSec1Process: Double
        var claimWaitP99Ms1Process: Double
        var enqueueToStartP50Ms: Double
        var enqueueToStartP99Ms: Double
        var commitToStartP50Ms: Double
        var commitToStartP99Ms: Double
        var processedPerSecMulti: Double
        var multiSplit: [Int]
        var multiClaimWaitP99Ms: [Double]
        var multiClaimWaitMaxMs: [Double]
        var lockErrors: Int
        var duplicateCompletions: Int
        var lostJobs: Int
        var peakRSSMiB: Double
    }

    func validate() throws {
        if let databaseURL {
            do { _ = try DatabaseURL(databaseURL) } catch { throw ValidationError(error.description) }
        }
    }

    func run() async throws {
        let root = dir ?? NSTemporaryDirectory() + "switchyard-bench-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { if dir == nil { try? FileManager.default.removeItem(atPath: root) } }
        let fsync = fsyncProbe(dir: root)
        let result: Result
        if let databaseURL, let url = try? DatabaseURL(databaseURL) {
            var logger = Logger(label: "bench")
            logger.logLevel = .error
            let migrator = Storage.postgresMigrator
            result = try await PostgresDatabase.withOpened(url: url, poolSize: 8, migrator: migrator, logger: logger) { database in
                let settings = "postgresql \(try await database.serverVersion()), " + (try await database.durability())
                let main = PostgresQueue(client: database.client, logger: logger)
                // The idle worker of the latency phase is another process's in all but address space: its own
                // client and notifier, woken by LISTEN/NOTIFY.
                let wakeClient = try PostgresDatabase(url: url, poolSize: 2, logger: logger)
                let wakeTask = Task { await wakeClient.client.run() }
                defer { wakeTask.cancel() }
                let waker = PostgresQueue(client: wakeClient.client, logger: logger)
                let listener = PostgresJobListener(queue: waker)
                let listenTask = Task { try await listener.run() }
                defer { listenTask.cancel() }
                let result = try await measure(
                    engine: "postgresql", settings: settings, fsync: fsync, main: main, latencyWorker: waker,
                    multiTarget: ["--database-url", databaseURL], multiQueue: main, root: root,
                    fresh: { try await main.emptyScratchJobs() })
                try await main.emptyScratchJobs()
                return result
            }
        } else {
            let first = try AppDatabase(options: SQLiteOptions(path: root + "/one.sqlite", synchronous: synchronous))
            let durability = try Storage.durability(first)
            let settings = "sqlite \(try await Storage.sqliteVersion(first)), journal_mode=\(durability.journalMode) "
                + "synchronous=\(durability.synchronous)"
            let queue = Storage.queue(first)
            let multiPath = root + "/multi.sqlite"
            let multi = Storage.queue(try AppDatabase(options: SQLiteOptions(path: multiPath, synchronous: synchronous)))
            result = try await measure(
                engine: "sqlite", settings: settings, fsync: fsync, main: queue, latencyWorker: queue,
                multiTarget: ["--db", multiPath, "--synchronous", synchronous.rawValue.lowercased()], multiQueue: multi,
                root: root, fresh: {})
        }
        if json {
            print(String(decoding: try JSONEncoder.sortedKeys.encode(result), as: UTF8.self))
        } else {
            print(render(result))
        }
    }

    /// The phases, on `main` (and `multiQueue`, which `multiTarget` names to the worker processes).
    private func measure(engine: String, settings: String, fsync: (p50: Double, p99: Double), main queue: any QueueDriver,
                         latencyWorker: any QueueDriver, multiTarget: [String], multiQueue: any QueueDriver,
                         root: String, fresh: () async throws -> Void) async throws -> Result {
        let progress = { (line: String) in if !json { printError("… " + line) } }
        progress("bulk enqueue of \(jobs) jobs")
        try await fresh()
        var start = ContinuousClock.now
        _ = try await queue.enqueue((0..<jobs).map { _ in NewJob(kind: "noop", queue: "bench") })
        let bulkRate = Double(jobs) / (ContinuousClock.now - start).seconds

        progress("processing \(jobs) jobs in 1 process, \(workers) workers, batch \(batch)")
        start = .now
        let one = try await QueueBenchWorker.drain(driver: queue, queue: "bench", workers: workers, batch: batch)
        let oneRate = Double(one.report.processed) / (ContinuousClock.now - start).seconds

        progress("\(singles) single enqueues, one transaction each")
        let singleJob = NewJob(kind: "noop", queue: "bench-single")
        start = .now
        for _ in 0..<singles { _ = try await queue.enqueue([singleJob]) }
        let singleRate = Double(singles) / (ContinuousClock.now - start).seconds

        progress("enqueue→start latency, \(latencySamples) samples with an idle worker")
        let latency = try await measureLatency(queue: queue, worker: latencyWorker)

        progress("processing \(jobs) jobs with \(processes) processes on one database")
        try await fresh()
        let multi = try await runProcesses(queue: multiQueue, target: multiTarget, root: root)

        return Result(
            jobs: jobs, workers: workers, batch: batch, processes: processes, engine: engine, settings: settings,
            fsyncP50Ms: fsync.p50, fsyncP99Ms: fsync.p99,
            bulkEnqueuePerSec: bulkRate, singleEnqueuePerSec: singleRate, singleEnqueueCount: singles,
            processedPerSec1Process: oneRate, claimWaitP99Ms1Process: one.report.claimWaitP99Ms,
            enqueueToStartP50Ms: latency.fromCall.percentile(50), enqueueToStartP99Ms: latency.fromCall.percentile(99),
            commitToStartP50Ms: latency.fromCommit.percentile(50), commitToStartP99Ms: latency.fromCommit.percentile(99),
            processedPerSecMulti: multi.rate, multiSplit: multi.reports.map(\.processed),
            multiClaimWaitP99Ms: multi.reports.map(\.claimWaitP99Ms), multiClaimWaitMaxMs: multi.reports.map(\.claimWaitMaxMs),
            lockErrors: one.report.lockErrors + multi.reports.reduce(0) { $0 + $1.lockErrors },
            duplicateCompletions: multi.duplicates, lostJobs: multi.lost, peakRSSMiB: peakRSSMiB())
    }

    /// Enqueues on `queue` one job at a time and times its start by an idle pool on `worker`.
    private func measureLatency(queue: any QueueDriver, worker: any QueueDriver) async throws -> (fromCall: Samples, fromCommit: Samples) {
        let recorder = BenchRecorder(trackStarts: true)
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let options = WorkerOptions(queue: "bench-latency", concurrency: 10, pollInterval: .seconds(5), onEvent: { recorder.handle($0) })
        let pool = WorkerPool(driver: worker, registry: JobRegistry([TestJob.noop]), options: options, logger: logger)
        let task = Task { try await pool.run() }
        try await Task.sleep(for: .milliseconds(300))
        var fromCall = Samples()
        var fromCommit = Samples()
        for _ in 0..<latencySamples {
            let called = ContinuousClock.now
            let id = try await queue.enqueue([NewJob(kind: "noop", queue: "bench-latency")])[0].id
            let committed = ContinuousClock.now
            let deadline = committed + .seconds(5)
            while recorder.startTime(of: id) == nil && ContinuousClock.now < deadline { await Task.yield() }
            if let started = recorder.startTime(of: id) {
                fromCall.add(started - called)
                fromCommit.add(max(.zero, started - committed))
            }
            // Let the completion be written so the next sample starts from an idle worker.
            try await Task.sleep(for: .milliseconds(8))
        }
        pool.stop()
        try await task.value
        return (fromCall, fromCommit)
    }

    private func runProcesses(queue: any QueueDriver, target: [String], root: String)
        async throws -> (rate: Double, reports: [WorkerReport], duplicates: Int, lost: Int) {
        _ = try await queue.enqueue((0..<jobs).map { _ in NewJob(kind: "noop", queue: "bench-multi") })
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).path
        let start = ContinuousClock.now
        var children: [(Process, Pipe, String)] = []
        for index in 0..<processes {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            let idsPath = root + "/ids-\(index)"
            process.arguments = ["bench", "queue-worker", "--queue", "bench-multi", "--workers", "\(workers)",
                                 "--batch", "\(batch)", "--ids-out", idsPath] + target
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            children.append((process, pipe, idsPath))
        }
        var reports: [WorkerReport] = []
        var all: [Int64] = []
        for (process, pipe, idsPath) in children {
            let output = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0, let line = String(decoding: output, as: UTF8.self).split(separator: "\n").last,
                  let report = try? JSONDecoder().decode(WorkerReport.self, from: Data(line.utf8)) else {
                throw CLIError("bench worker process failed with status \(process.terminationStatus)")
            }
            reports.append(report)
            let ids = try String(contentsOfFile: idsPath, encoding: .utf8).split(separator: "\n").compactMap { Int64($0) }
            all += ids
        }
        let elapsed = (ContinuousClock.now - start).seconds
        let completed = try await queue.counts().filter { $0.state == .completed && $0.queue == "bench-multi" }
            .reduce(0) { $0 + $1.count }
        let duplicates = all.count - Set(all).count
        return (Double(completed) / elapsed, reports, duplicates, jobs - completed)
    }

    private func render(_ r: Result) -> String {
        """
        switchyard bench queue: \(r.jobs) no-op jobs, \(r.workers) workers/process, batch \(r.batch)
        settings          \(r.settings)
        disk flush probe  fsync p50 \(format(r.fsyncP50Ms, 3)) ms, p99 \(format(r.fsyncP99Ms, 3)) ms
        bulk enqueue      \(format(r.bulkEnqueuePerSec, 0)) jobs/s (one transaction)
        single enqueue    \(format(r.singleEnqueuePerSec, 0)) jobs/s (\(r.singleEnqueueCount) transactions)
        processed, 1 proc \(format(r.processedPerSec1Process, 0)) jobs/s (claim wait p99 \(format(r.claimWaitP99Ms1Process, 2)) ms)
        enqueue→start     p50 \(format(r.enqueueToStartP50Ms, 2)) ms, p99 \(format(r.enqueueToStartP99Ms, 2)) ms (from the enqueue call)
        commit→start      p50 \(format(r.commitToStartP50Ms, 2)) ms, p99 \(format(r.commitToStartP99Ms, 2)) ms (from the committed enqueue)
        processed, \(r.processes) proc \(format(r.processedPerSecMulti, 0)) jobs/s (wall, incl. process start), split \(r.multiSplit)
        claim wait        p99 \(r.multiClaimWaitP99Ms.map { format($0, 2) }) ms, max \(r.multiClaimWaitMaxMs.map { format($0, 1) }) ms per process
        lock errors       \(r.lockErrors)
        duplicates        \(r.duplicateCompletions) completions, \(r.lostJobs) jobs lost
        peak RSS          \(format(r.peakRSSMiB, 1)) MiB (this process)
        """
    }
}
