import ArgumentParser
import Foundation
import Logging
import Scheduler
import Store

/// `switchyard bench records`: the rate at which one record writer commits request records (a trace and a usage log
/// each, as every billed request writes) at several batch sizes, and what each record costs the database server's CPU
/// (all `postgres` processes on this machine, read from /proc; the SQLite file's cost is this process's own). The
/// usage-log write rate is what a cluster of gateways shares first.
struct RecordsBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "records", abstract: "Benchmark the record writer's commit rate by batch size.")

    @Option(help: "Records written at each batch size.") var records: Int = 60_000
    @Option(help: "Batch sizes measured, comma-separated.") var batches: String = "10,100,1000"
    @Option(help: "Keys the records are spread over (each batch adds to each key's spend once).") var keys: Int = 100
    @Option(help: "Directory for the benchmark file (default: a new temp dir, removed after).") var dir: String?
    @OptionGroup var database: ScratchDatabaseOption

    func validate() throws {
        guard records > 0, keys > 0, !sizes.isEmpty, sizes.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--records, --keys and every --batches size must be positive")
        }
    }

    var sizes: [Int] { batches.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func run() async throws {
        if try await database.withEmptied(poolSize: 2, { db, _ in try await bench(db, engine: "postgresql", serverCPU: Self.postgresCPU) }) != nil {
            return
        }
        let root = dir ?? NSTemporaryDirectory() + "switchyard-bench-records-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { if dir == nil { try? FileManager.default.removeItem(atPath: root) } }
        let db = try AppDatabase(options: SQLiteOptions(path: root + "/records.sqlite"))
        try await bench(db, engine: "sqlite synchronous=FULL", serverCPU: { 0 })
    }

    private func bench(_ db: AppDatabase, engine: String, serverCPU: () -> Double) async throws {
        try await db.seedBenchUsers(keys)
        try await db.seedBenchKeys(keys)
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        var lines = ["bench records: \(records) records (trace + usage log) per batch size, \(keys) keys; \(engine)"]
        var sequence = 0
        for size in sizes {
            // The writer flushes when told: it never waits for its interval, so the figure is the commit rate itself.
            let writer = RecordWriter(db: db, flushInterval: .seconds(3600), maxBatch: size, logger: logger)
            let now = SystemWallClock().nowMillis()
            let (serverBefore, clientBefore) = (serverCPU(), Self.ownCPU())
            var commits = Samples()
            let started = ContinuousClock.now
            for start in stride(from: 0, to: records, by: size) {
                for _ in start..<min(records, start + size) {
                    sequence += 1
                    writer.submit(Self.record(sequence, keys: keys, now: now))
                }
                let commit = ContinuousClock.now
                try await writer.flush()
                commits.add(ContinuousClock.now - commit)
            }
            let elapsed = (ContinuousClock.now - started).seconds
            let server = (serverCPU() - serverBefore) / Double(records) * 1e6
            let client = (Self.ownCPU() - clientBefore) / Double(records) * 1e6
            lines.append("batch \(String(size).padding(toLength: 5, withPad: " ", startingAt: 0)) \(format(Double(records) / elapsed, 0)) records/s; "
                         + "commit p50 \(format(commits.percentile(50), 2)) ms p99 \(format(commits.percentile(99), 2)) ms; "
                         + "CPU per record: database server \(format(server, 1)) µs, writer \(format(client, 1)) µs")
        }
        let written = try await db.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM usage_logs") ?? 0 }
        lines.append("usage logs written \(written) of \(sequence)\(written == sequence ? "" : " (MISSING ROWS)")")
        print(lines.joined(separator: "\n"))
    }

    /// A billed request's record: its trace and its usage log, on one of `keys` keys.
    static func record(_ n: Int, keys: Int, now: Int64) -> RequestRecord {
        let key = Int64(n % keys + 1)  // the seeded users' and keys' ids on an emptied database
        var trace = Trace(requestId: "bench-\(n)", endpoint: "/v1/chat/completions", createdAt: now, expiresAt: now + 86_400_000)
        trace.userId = key
        trace.keyId = key
        trace.channelId = 1
        trace.model = "gpt-4o-mini"
        trace.status = 200
        trace.attempts = 1
        trace.latencyMs = 12
        trace.promptTokens = 12
        trace.completionTokens = 40
        trace.cost = 26
        let usage = UsageLog(requestId: trace.requestId, userId: key, keyId: key, channelId: 1, model: "gpt-4o-mini",
                             promptTokens: 12, completionTokens: 40, cost: 26, createdAt: now)
        return RequestRecord(trace: trace, usage: usage)
    }

    /// CPU seconds used so far by every `postgres` process on this machine.
    static func postgresCPU() -> Double {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return 0 }
        return entries.reduce(0) { total, entry in
            guard let pid = Int32(entry), let comm = try? String(contentsOfFile: "/proc/\(entry)/comm", encoding: .utf8),
                  comm.hasPrefix("postgres") else { return total }
            return total + BenchProcess.cpuSeconds(pid)
        }
    }

    /// This process's CPU seconds so far.
    static func ownCPU() -> Double { BenchProcess.cpuSeconds(getpid()) }
}
