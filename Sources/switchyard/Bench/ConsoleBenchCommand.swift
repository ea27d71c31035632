import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import Scheduler
import Store

/// `switchyard bench console`: the console's pages against a big database. Seeds `--traces` traces and as many
/// usage logs (a week of them, 1,000 users and keys, 20 channels, 10 models) through the record writer itself (so
/// the rollups are what the writer keeps), starts a gateway on that database, and times every `/api` call each page
/// makes: p50 and max of `--samples` calls each, and each page's slowest call.
struct ConsoleBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "console",
                                                    abstract: "Time the console's page data against a database of many traces.")

    @Option(help: "Traces (and usage logs) to seed.") var traces: Int = 1_000_000
    @Option(help: "Timed calls per endpoint.") var samples: Int = 15
    @Option(help: "The gateway's port.") var port: Int = 19_580
    @OptionGroup var database: ScratchDatabaseOption

    static let models = (0..<10).map { "model-\($0)" }

    func run() async throws {
        let root = try BenchProcess.scratch("consolebench")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dataDir = root + "/data"
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let now = SystemWallClock().nowMillis()
        let engine: String
        if try await database.withEmptied(poolSize: 4, { db, _ in try await seed(db, now: now) }) != nil {
            engine = "postgresql"
        } else {
            try await seed(try AppDatabase(options: SQLiteOptions(path: dataDir + "/switchyard.sqlite")), now: now)
            engine = "sqlite"
        }
        let admin = "bench-admin-\(UUID().uuidString.prefix(8))"
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).path
        // The gateway role alone: the workers would spend the first minute settling the seeded usage logs.
        let gateway = try BenchProcess.spawn(executable, ["serve", "--role", "gateway", "--port", "\(port)", "--data-dir", dataDir,
                                                          "--log-level", "warning"] + database.daemonArguments,
                                             env: ["SWITCHYARD_ADMIN_TOKEN": admin], log: root + "/gateway.log")
        defer { if gateway.isRunning { gateway.terminate(); gateway.waitUntilExit() } }
        let http = HTTPClient.shared
        let base = "http://127.0.0.1:\(port)"
        try await BenchProcess.waitFor(http, base + "/health")
        for n in 1...20 {
            _ = try await BenchProcess.call(http, .POST, base + "/api/channels", [
                "name": "channel-\(n)", "type": "openai", "base_url": "http://127.0.0.1:9", "api_key": "sk-bench-\(n)",
                "models": Self.models], token: admin)
        }
        let day: Int64 = 86_400_000
        let pages: [(String, [String])] = [
            ("overview, last hour", ["/api/stats?window=hour", "/api/jobs/counts", "/api/channels?limit=500", "/api/schedules"]),
            ("overview, last day", ["/api/stats?window=day"]),
            ("overview, last week", ["/api/stats?window=week"]),
            ("channels", ["/api/channels?limit=500"]),
            ("users and keys", ["/api/users?limit=500", "/api/keys?user_id=500&limit=500"]),
            ("jobs", ["/api/jobs/counts", "/api/jobs", "/api/schedules"]),
            ("traces, newest", ["/api/traces"]),
            ("traces, a deep page", ["/api/traces?cursor=\(traces / 2)"]),
            ("traces by key", ["/api/traces?key_id=500"]),
            ("traces by channel", ["/api/traces?channel_id=7"]),
            ("traces by user", ["/api/traces?user_id=500"]),
            ("traces by model", ["/api/traces?model=model-3"]),
            // Values no trace has: every filter's worst case, the whole table ruled out.
            ("traces by a user with none", ["/api/traces?user_id=99999"]),
            ("traces by a model with none", ["/api/traces?model=unused"]),
            ("traces by status", ["/api/traces?status=502"]),
            ("traces in a day 3 days ago", ["/api/traces?since=\(now - 4 * day)&until=\(now - 3 * day)"]),
            ("a trace", ["/api/traces/\(traces / 3)"]),
            ("usage of a user", ["/api/usage?user_id=500"]),
        ]
        var lines = ["bench console: \(traces) traces and usage logs over 7 days, 1,000 users and keys, 20 channels, 10 models; "
                     + "\(engine); \(samples) calls per endpoint after one warm-up",
                     "page                          endpoint                                      p50 ms   max ms"]
        var slowest: [(String, Double)] = []
        for (page, paths) in pages {
            var pageWorst = 0.0
            for path in paths {
                var times = Samples()
                _ = try await get(http, base + path, admin)
                for _ in 0..<samples {
                    let started = ContinuousClock.now
                    let status = try await get(http, base + path, admin)
                    times.add(ContinuousClock.now - started)
                    guard status == 200 else { throw CLIError("\(path) answered \(status)") }
                }
                pageWorst = max(pageWorst, times.percentile(50))
                lines.append(page.padding(toLength: 30, withPad: " ", startingAt: 0) + String(path.prefix(44)).padding(toLength: 46, withPad: " ", startingAt: 0)
                             + String(format: "%6.1f  %7.1f", times.percentile(50), times.max))
            }
            slowest.append((page, pageWorst))
        }
        let worst = slowest.max { $0.1 < $1.1 }!
        lines.append("slowest page (its slowest call's p50): \(worst.0), \(format(worst.1, 1)) ms")
        print(lines.joined(separator: "\n"))
    }

    private func get(_ http: HTTPClient, _ url: String, _ token: String) async throws -> UInt {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "authorization", value: "Bearer \(token)")
        let response = try await http.execute(request, timeout: .seconds(60))
        _ = try await response.body.collect(upTo: 16 << 20)
        return response.status.code
    }

    /// Users, keys and `traces` records through the record writer, 5,000 a batch, spread over the week before `now`.
    private func seed(_ db: AppDatabase, now: Int64) async throws {
        try await db.seedBenchUsers(1000)
        try await db.seedBenchKeys(1000)
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let writer = RecordWriter(db: db, flushInterval: .seconds(3600), maxBatch: 5000, maxBuffered: 10_000, logger: logger)
        let week: Int64 = 7 * 86_400_000
        let started = ContinuousClock.now
        for start in stride(from: 0, to: traces, by: 5000) {
            for n in start..<min(traces, start + 5000) {
                writer.submit(Self.record(n, at: now - week + Int64(n) * week / Int64(traces)))
            }
            try await writer.flush()
            if start % 100_000 == 0 { printError("… seeded \(start + 5000) of \(traces) in \(format((ContinuousClock.now - started).seconds, 1)) s") }
        }
    }

    static func record(_ n: Int, at: Int64) -> RequestRecord {
        let key = Int64(1 + n % 1000)
        var trace = Trace(requestId: "seed-\(n)", endpoint: "/v1/chat/completions", createdAt: at, expiresAt: at + 30 * 86_400_000)
        trace.userId = key
        trace.keyId = key
        trace.channelId = Int64(1 + n % 20)
        trace.model = models[n % 10]
        trace.stream = n % 2 == 0
        trace.status = n % 20 == 0 ? 502 : 200
        trace.attempts = 1
        trace.latencyMs = Int64(150 + (n * 37) % 3000)
        trace.ttftMs = trace.stream ? Int64(80 + (n * 13) % 900) : nil
        guard trace.status == 200 else { return RequestRecord(trace: trace, usage: nil) }
        trace.promptTokens = Int64(20 + n % 500)
        trace.completionTokens = Int64(10 + n % 800)
        trace.cost = trace.promptTokens * 3 + trace.completionTokens * 12
        let usage = UsageLog(requestId: trace.requestId, userId: key, keyId: key, channelId: trace.channelId, model: trace.model ?? "",
                             promptTokens: trace.promptTokens, completionTokens: trace.completionTokens, cost: trace.cost, createdAt: at)
        return RequestRecord(trace: trace, usage: usage)
    }
}
