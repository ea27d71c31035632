import ArgumentParser
import AsyncHTTPClient
import Foundation
import Jobs
import Scheduler
import NIOCore
import Store

/// `switchyard bench maintenance --kind payloads.purge|usage.settle --rows N`: seeds N expired traces (a fifth of
/// them with 2 KiB sealed-size payloads) or N unsettled usage logs into a fresh data dir (or a scratch PostgreSQL
/// database with `--database-url`), starts a daemon on it,
/// measures paced gateway traffic idle, then runs the maintenance job through `POST /api/schedules/{name}/run`
/// under the same traffic and prints the job's time and rate and the gateway's p50/p99 during it against idle.
struct MaintenanceBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "maintenance",
                                                    abstract: "Gateway latency while payloads.purge or usage.settle works through N rows.")

    enum Kind: String, ExpressibleByArgument { case purge = "payloads.purge", settle = "usage.settle" }

    @Option(help: "payloads.purge or usage.settle.") var kind: Kind = .purge
    @Option(help: "Rows seeded: expired traces for purge, unsettled usage logs for settle.") var rows = 1_000_000
    @Option(help: "First of two loopback ports (mock upstream, daemon).") var port = 18_500
    @Option(help: "Requests per second of ordinary traffic through the gateway.") var rate = 200
    @Option(help: "Seconds of idle traffic measured before the job.") var idleSeconds = 10
    @OptionGroup var database: ScratchDatabaseOption

    func run() async throws {
        let root = try BenchProcess.scratch("maintbench")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let seedStart = ContinuousClock.now
        var size = ""
        if try await database.withEmptied(poolSize: 4, { db, queue in try await prepare(db, queue) }) == nil {
            let db = try AppDatabase.open(dataDir: root + "/data")
            try await prepare(db, Storage.queue(db))
            let bytes = (try? FileManager.default.attributesOfItem(atPath: db.path)[.size] as? Int) ?? 0
            size = " (file \(bytes >> 20) MiB)"
        }
        printError("… seeded \(rows) rows for \(kind.rawValue) in \(format((ContinuousClock.now - seedStart).seconds, 1)) s\(size)")

        let testbed = try await BenchTestbed.start(root: root, port: port, daemonArguments: database.daemonArguments)
        defer { testbed.stop() }
        let (admin, base, key) = (testbed.admin, testbed.base, testbed.key)
        let http = HTTPClient.shared

        printError("… idle gateway traffic, \(rate) req/s for \(idleSeconds) s")
        let idle = try await Traffic.measure(base: base, key: key, rate: rate) { try await Task.sleep(for: .seconds(idleSeconds)) }
        printError("… running \(kind.rawValue) under the same traffic")
        var seconds = 0.0
        var state = ""
        let busy = try await Traffic.measure(base: base, key: key, rate: rate) {
            let started = ContinuousClock.now
            let job = try await BenchProcess.call(http, .POST, base + "/api/schedules/\(kind.rawValue)/run", [:], token: admin)
            guard let id = job["id"] as? Int else { throw CLIError("could not run \(kind.rawValue): \(job)") }
            while true {
                state = try await BenchProcess.call(http, .GET, base + "/api/jobs/\(id)", token: admin)["state"] as? String ?? ""
                if ["completed", "discarded", "cancelled"].contains(state) { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            seconds = (ContinuousClock.now - started).seconds
        }
        let summary = Self.latestSummary(root + "/artifacts/" + kind.rawValue)
        print("""
            switchyard bench maintenance: \(kind.rawValue) over \(rows) rows, job \(state) in \(format(seconds, 2)) s = \(format(Double(rows) / seconds, 0)) rows/s
            gateway \(rate) req/s idle:   \(idle.latencySummary)
            gateway \(rate) req/s during: \(busy.latencySummary)
            p99 during / idle p99: \(format(busy.percentile(99) / max(idle.percentile(99), 0.001), 2))×
            artifact: \(summary)
            """)
    }

    /// Seeds with SQL alone (a recursive sequence), in 100,000-row transactions, and turns every schedule off, so
    /// nothing runs during the idle measurement (the job is run by hand).
    private func prepare(_ db: AppDatabase, _ queue: any QueueDriver) async throws {
        try await db.seedBench(kind == .purge ? .expiredTraces : .unsettledLogs, total: rows)
        try await queue.register(BuiltinJobs.schedules)
        for schedule in BuiltinJobs.schedules { _ = try await queue.updateSchedule(name: schedule.name, interval: nil, enabled: false) }
    }

    static func latestSummary(_ folder: String) -> String {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
        guard let last = names.last, let data = FileManager.default.contents(atPath: "\(folder)/\(last)/summary.json"),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return "none" }
        let wanted = ["traces_deleted", "payloads_deleted", "bytes_removed", "logs_settled", "amount_settled", "logs_per_second",
                      "database_before", "database_after"]
        return object.filter { wanted.contains($0.key) }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }
}
