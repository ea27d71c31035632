import ArgumentParser
import Foundation
import Scheduler
import Store

/// `switchyard bench settle`: seeds usage logs across many users into a fresh file, settles them all and prints
/// logs/s, while a gateway-like writer commits a batch of usage logs every 100 ms and records its commit latency.
struct SettleBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "settle", abstract: "Benchmark usage settlement.")

    @Option(help: "Usage logs seeded before settlement starts.") var logs: Int = 1_000_000
    @Option(help: "Users the logs are spread over.") var users: Int = 1000
    @Option(help: "Usage logs per settlement transaction.") var batch: Int = 5000
    @Option(help: "Usage logs the side writer commits every 100 ms during settlement (0: no side writer).") var writerBatch: Int = 100
    @Option(help: "SQLite durability: full or normal.") var synchronous: SQLiteOptions.Synchronous = .full
    @Option(help: "Directory for the benchmark file (default: a new temp dir, removed after).") var dir: String?
    @OptionGroup var database: ScratchDatabaseOption

    func run() async throws {
        if try await database.withEmptied(poolSize: 4, { db, _ in try await bench(db, settings: "postgresql") }) != nil { return }
        let root = dir ?? NSTemporaryDirectory() + "switchyard-bench-settle-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { if dir == nil { try? FileManager.default.removeItem(atPath: root) } }
        let db = try AppDatabase(options: SQLiteOptions(path: root + "/settle.sqlite", synchronous: synchronous))
        try await bench(db, settings: "sqlite synchronous=\(synchronous.rawValue.lowercased())")
    }

    private func bench(_ db: AppDatabase, settings: String) async throws {

        let seedStart = ContinuousClock.now
        try await seed(db)
        printError("… seeded \(logs) usage logs over \(users) users in \(format((ContinuousClock.now - seedStart).seconds, 1)) s")

        let idle = try await writerLatency(db, rounds: 20)
        let settlement = Settlement(db: db, batchSize: batch)
        let stop = WakeSignal()
        let started = ContinuousClock.now
        async let side = writerWhile(db, stop: stop)
        let batches = try await settlement.settleAll()
        let elapsed = ContinuousClock.now - started
        stop.raise(.stop)
        let during = try await side
        // What the side writer added after settlement finished is settled too, so the books can be checked.
        let tail = try await settlement.settleAll()
        let settled = batches.reduce(0) { $0 + $1.logs }
        let check = try await books(db)

        print("""
            settle: \(settled) logs in \(format(elapsed.seconds, 2)) s = \(format(Double(settled) / elapsed.seconds, 0)) logs/s \
            (\(batches.count) transactions of up to \(batch); \(users) users; \(settings))
            side writer commit (\(writerBatch) logs / 100 ms): idle p50 \(format(idle.percentile(50), 2)) ms p99 \(format(idle.percentile(99), 2)) ms; \
            during settlement p50 \(format(during.percentile(50), 2)) ms p99 \(format(during.percentile(99), 2)) ms max \(format(during.max, 2)) ms (\(during.count) commits)
            books: ledger \(check.ledger) = settled \(check.checkpoint) = users.used \(check.used): \(check.ledger == check.checkpoint && check.checkpoint == check.used ? "consistent" : "INCONSISTENT"); \
            unsettled left \(check.unsettled); tail settled after the run \(tail.reduce(0) { $0 + $1.logs })
            peak RSS \(format(peakRSSMiB(), 1)) MiB
            """)
    }

    /// Users with multipliers from 0.5× to 2.5× and logs with costs 1 to 5,000 micro-units, in 50,000-row transactions.
    private func seed(_ db: AppDatabase) async throws {
        try await db.seedBenchUsers(users)
        for start in stride(from: 0, to: logs, by: 50_000) {
            try await db.seedBenchUsageLogs(from: start, to: min(logs, start + 50_000), users: users)
        }
    }

    /// Commits `writerBatch` usage logs and returns how long the commit took, `rounds` times, 100 ms apart.
    private func writerLatency(_ db: AppDatabase, rounds: Int) async throws -> Samples {
        var samples = Samples()
        for _ in 0..<rounds {
            samples.add(try await writeSideBatch(db))
            try await Task.sleep(for: .milliseconds(100))
        }
        return samples
    }

    private func writerWhile(_ db: AppDatabase, stop: WakeSignal) async throws -> Samples {
        var samples = Samples()
        guard writerBatch > 0 else { return samples }
        while !(await stop.wait(until: .now + .milliseconds(100))).contains(.stop) {
            samples.add(try await writeSideBatch(db))
        }
        return samples
    }

    private func writeSideBatch(_ db: AppDatabase) async throws -> Duration {
        let start = ContinuousClock.now
        try await db.writeBenchUsageBatch(writerBatch, users: users)
        return ContinuousClock.now - start
    }

    /// The three totals that must agree, and the logs not yet settled.
    private func books(_ db: AppDatabase) async throws -> (ledger: Int64, checkpoint: Int64, used: Int64, unsettled: Int) {
        try await db.settlementBooks()
    }
}
