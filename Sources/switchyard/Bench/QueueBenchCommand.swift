import ArgumentParser
import Foundation
import Jobs
import Logging
import Scheduler
import Store

/// `switchyard bench queue`: enqueue and processing figures for the SQLite queue on a fresh file.
struct QueueBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "queue", abstract: "Benchmark the SQLite job queue.")

    @Option(help: "Jobs per phase.") var jobs: Int = 20000
    @Option(help: "Concurrent jobs per worker process.") var workers: Int = 100
    @Option(help: "Jobs claimed per transaction.") var batch: Int = 100
    @Option(help: "Worker processes sharing one file in the multi-process phase.") var processes: Int = 2
    @Option(help: "Single-transaction enqueues measured.") var singles: Int = 2000
    @Option(help: "Enqueue-to-start samples with an idle worker.") var latencySamples: Int = 300
    @Option(help: "SQLite durability: full or normal.") var synchronous: SQLiteOptions.Synchronous = .full
    @Option(help: "Directory for the benchmark files (default: a new temp dir, removed after).") var dir: String?
    @Flag(help: "Print one JSON object instead of text.") var json = false

    struct Result: Codable {
        var jobs: Int
        var workers: Int
        var batch: Int
        var processes: Int
        var journalMode: String
        var synchronous: String
        var sqliteVersion: String
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

    func run() async throws {
        let root = dir ?? NSTemporaryDirectory() + "switchyard-bench-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { if dir == nil { try? FileManager.default.removeItem(atPath: root) } }
        let progress = { (line: String) in if !json { printError("… " + line) } }

        // Settings and the disk's fsync cost right now.
        let first = try AppDatabase(options: SQLiteOptions(path: root + "/one.sqlite", synchronous: synchronous))
        let durability = try Storage.durability(first)
        let version = try await Storage.sqliteVersion(first)
        let fsync = fsyncProbe(dir: root)
        let queue = Storage.queue(first)

        progress("bulk enqueue of \(jobs) jobs")
        var start = ContinuousClock.now
        _ = try await queue.enqueue((0..<jobs).map { _ in NewJob(kind: "noop") })
        let bulkRate = Double(jobs) / (ContinuousClock.now - start).seconds

        progress("processing \(jobs) jobs in 1 process, \(workers) workers, batch \(batch)")
        start = .now
        let one = try await QueueBenchWorker.drain(pool: first, workers: workers, batch: batch)
        let oneRate = Double(one.report.processed) / (ContinuousClock.now - start).seconds

        progress("\(singles) single enqueues, one transaction each")
        let singleJob = NewJob(kind: "noop", queue: "bench-single")
        start = .now
        for _ in 0..<singles { _ = try await queue.enqueue([singleJob]) }
        let singleRate = Double(singles) / (ContinuousClock.now - start).seconds

        progress("enqueue→start latency, \(latencySamples) samples with an idle worker")
        let latency = try await measureLatency(queue: queue)

        progress("processing \(jobs) jobs with \(processes) processes on one file")
        let multi = try await runProcesses(root: root)

        let result = Result(
            jobs: jobs, workers: workers, batch: batch, processes: processes, journalMode: durability.journalMode,
            synchronous: durability.synchronous, sqliteVersion: version, fsyncP50Ms: fsync.p50, fsyncP99Ms: fsync.p99,
            bulkEnqueuePerSec: bulkRate, singleEnqueuePerSec: singleRate, singleEnqueueCount: singles,
            processedPerSec1Process: oneRate, claimWaitP99Ms1Process: one.report.claimWaitP99Ms,
            enqueueToStartP50Ms: latency.fromCall.percentile(50), enqueueToStartP99Ms: latency.fromCall.percentile(99),
            commitToStartP50Ms: latency.fromCommit.percentile(50), commitToStartP99Ms: latency.fromCommit.percentile(99),
            processedPerSecMulti: multi.rate, multiSplit: multi.reports.map(\.processed),
            multiClaimWaitP99Ms: multi.reports.map(\.claimWaitP99Ms), multiClaimWaitMaxMs: multi.reports.map(\.claimWaitMaxMs),
            lockErrors: one.report.lockErrors + multi.reports.reduce(0) { $0 + $1.lockErrors },
            duplicateCompletions: multi.duplicates, lostJobs: multi.lost, peakRSSMiB: peakRSSMiB())
        if json {
            print(String(decoding: try JSONEncoder.sortedKeys.encode(result), as: UTF8.self))
        } else {
            print(render(result))
        }
    }

    private func measureLatency(queue: any QueueDriver) async throws -> (fromCall: Samples, fromCommit: Samples) {
        let recorder = BenchRecorder(trackStarts: true)
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let options = WorkerOptions(queue: "bench-latency", concurrency: 10, pollInterval: .seconds(5), onEvent: { recorder.handle($0) })
        let pool = WorkerPool(driver: queue, registry: JobRegistry([TestJob.noop]), options: options, logger: logger)
        let task = Task { try await pool.run() }
        try await Task.sleep(for: .milliseconds(100))
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

    private func runProcesses(root: String) async throws -> (rate: Double, reports: [WorkerReport], duplicates: Int, lost: Int) {
        let path = root + "/multi.sqlite"
        let database = try AppDatabase(options: SQLiteOptions(path: path, synchronous: synchronous))
        let queue = Storage.queue(database)
        _ = try await queue.enqueue((0..<jobs).map { _ in NewJob(kind: "noop") })
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).path
        let start = ContinuousClock.now
        var children: [(Process, Pipe, String)] = []
        for index in 0..<processes {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            let idsPath = root + "/ids-\(index)"
            process.arguments = ["bench", "queue-worker", "--db", path, "--workers", "\(workers)", "--batch", "\(batch)",
                                 "--synchronous", synchronous.rawValue.lowercased(), "--ids-out", idsPath]
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
        let completed = try await queue.counts().filter { $0.state == .completed }.reduce(0) { $0 + $1.count }
        let duplicates = all.count - Set(all).count
        return (Double(completed) / elapsed, reports, duplicates, jobs - completed)
    }

    private func render(_ r: Result) -> String {
        """
        switchyard bench queue: \(r.jobs) no-op jobs, \(r.workers) workers/process, batch \(r.batch)
        settings          journal_mode=\(r.journalMode) synchronous=\(r.synchronous) sqlite=\(r.sqliteVersion)
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
