import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Scheduler

/// `switchyard bench gateway`: the same wrk load at the mock upstream directly and through the gateway, in
/// one run, non-stream and stream, at each concurrency; prints rps, latency, added latency, CPU per proxied
/// request, added time to first token and RSS.
struct GatewayBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gateway", abstract: "Benchmark the relay gateway against its upstream.")

    @Option(help: "Seconds per wrk run.") var duration: Int = 10
    @Option(help: "Seconds of warm-up before each measured run.") var warmup: Int = 2
    @Option(help: "Comma-separated connection counts.") var concurrency: String = "16,64"
    @Option(help: "Sequential requests for the time-to-first-token comparison.") var ttftSamples: Int = 200
    @Option(help: "Base port; the mock uses it, the gateways the next ones.") var port: Int = 19480
    @Option(help: "Upstream clients to measure, comma-separated (nio, ahc): one gateway process each.") var clients: String = "nio,ahc"
    @Option(help: "Concurrent slow streams to hold open through each gateway (0 skips; needs ulimit -n ≥ 4×).") var streams: Int = 0
    /// Also measures a gateway (nio client) on PostgreSQL at this URL, beside the SQLite ones.
    @OptionGroup var database: ScratchDatabaseOption
    @Flag(help: "With --database-url, also measure two gateway processes on it, the load split between them.") var pair = false
    @Option(help: "Times to measure every cell, targets in alternating order; with a PostgreSQL gateway, its rps ÷ SQLite's is printed per round and as the median (this machine's noise is larger than a single run's difference).")
    var rounds: Int = 1
    @Flag(help: "Print one JSON object instead of text.") var json = false

    struct Run: Codable {
        var target: String
        var mode: String
        var connections: Int
        var round = 1
        var requests: Int
        var rps: Double
        var p50Ms: Double
        var p99Ms: Double
        var errors: Int
        var cpuMicrosPerRequest: Double?
        /// For a gateway on PostgreSQL: the database server's CPU per request (every `postgres` process on the machine).
        var databaseMicrosPerRequest: Double?
    }

    struct Result: Codable {
        var runs: [Run]
        /// Time to the first SSE token, p50, by target.
        var ttftP50Ms: [String: Double]
        /// Gateway RSS by upstream client.
        var idleRSSMiB: [String: Double]
        var peakRSSMiB: [String: Double]
        /// Concurrent streams held, by target: completed, failed, wall seconds.
        var heldStreams: [String: HeldStreams]
    }

    func run() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/wrk") else {
            throw CLIError("wrk is needed: apt-get install wrk")
        }
        let root = try BenchProcess.scratch("gwbench")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).path
        let mockPort = port
        let admin = "bench-admin-\(UUID().uuidString.prefix(8))"
        let mock = try BenchProcess.spawn(executable, ["mock-upstream", "--port", "\(mockPort)"], env: [:], log: root + "/mock.log")
        var processes = [mock]
        defer {
            for process in processes where process.isRunning { process.terminate(); process.waitUntilExit() }
        }
        let http = HTTPClient.shared
        let direct = "http://127.0.0.1:\(mockPort)"
        try await BenchProcess.waitFor(http, direct + "/v1/models")
        // One gateway per upstream client, each with its own database, all relaying to the same mock.
        var targets: [(name: String, base: String, pid: Int32, key: String)] = [("direct", direct, mock.processIdentifier, "sk-direct")]
        var idleRSS: [String: Double] = [:]
        // Each gateway as (name, upstream client, extra arguments): the SQLite ones, then one on PostgreSQL.
        var gateways = clients.split(separator: ",").map { (String($0), String($0), [String]()) }
        if try await database.withEmptied(poolSize: 2) != nil {
            gateways.append(("nio-postgresql", "nio", database.daemonArguments))
        }
        for (index, (client, upstreamClient, extra)) in gateways.enumerated() {
            let gatewayPort = port + 1 + index
            let gateway = try BenchProcess.spawn(executable, ["serve", "--port", "\(gatewayPort)", "--data-dir", root + "/data-\(client)",
                                                 "--log-level", "warning", "--upstream-client", upstreamClient] + extra,
                                    env: ["SWITCHYARD_ADMIN_TOKEN": admin], log: root + "/gateway-\(client).log")
            processes.append(gateway)
            let proxied = "http://127.0.0.1:\(gatewayPort)"
            try await BenchProcess.waitFor(http, proxied + "/health")
            let key = try await BenchProcess.provision(http, base: proxied, admin: admin, upstream: direct)
            idleRSS[client] = BenchProcess.rss(gateway.processIdentifier).current
            progress("gateway (\(client)) idle RSS \(format(idleRSS[client]!)) MiB")
            targets.append(("gateway-\(client)", proxied, gateway.processIdentifier, key))
        }
        // A second gateway process on the PostgreSQL database (the same data dir, so the same secret key), measured
        // together with the first: the same connections in all, half through each.
        var pairs: [(name: String, bases: [String], pids: [Int32], key: String)] = []
        if pair, let first = targets.first(where: { $0.name == "gateway-nio-postgresql" }) {
            let pairPort = port + 1 + gateways.count
            let gateway = try BenchProcess.spawn(executable, ["serve", "--port", "\(pairPort)", "--data-dir", root + "/data-nio-postgresql",
                                                 "--log-level", "warning", "--upstream-client", "nio"] + database.daemonArguments,
                                    env: ["SWITCHYARD_ADMIN_TOKEN": admin], log: root + "/gateway-nio-postgresql-b.log")
            processes.append(gateway)
            let second = "http://127.0.0.1:\(pairPort)"
            try await BenchProcess.waitFor(http, second + "/health")
            pairs.append(("gateway-nio-postgresql-x2", [first.base, second], [first.pid, gateway.processIdentifier], first.key))
        }

        var runs: [Run] = []
        for round in 1...max(1, rounds) {
          for connections in concurrency.split(separator: ",").compactMap({ Int($0) }) {
            for stream in [false, true] {
                let all = targets.map { ($0.name, [$0.base], [$0.pid], $0.key) } + pairs.map { ($0.name, $0.bases, $0.pids, $0.key) }
                // Every other round backwards, so a drift in the machine's load does not favour the target measured first.
                let measured = round.isMultiple(of: 2) ? all.reversed() : all
                for (target, bases, pids, key) in measured {
                    let script = try wrkScript(root: root, key: key, stream: stream)
                    _ = try wrk(bases, script: script, connections: connections, seconds: warmup)
                    let onPostgres = target.contains("postgresql")
                    let cpuBefore = pids.map(BenchProcess.cpuSeconds).reduce(0, +)
                    let databaseBefore = onPostgres ? RecordsBenchCommand.postgresCPU() : 0
                    var run = try wrk(bases, script: script, connections: connections, seconds: duration)
                    let cpu = pids.map(BenchProcess.cpuSeconds).reduce(0, +) - cpuBefore
                    if onPostgres && run.requests > 0 {
                        run.databaseMicrosPerRequest = (RecordsBenchCommand.postgresCPU() - databaseBefore) * 1e6 / Double(run.requests)
                    }
                    run.target = target
                    run.round = round
                    run.mode = stream ? "stream" : "json"
                    run.cpuMicrosPerRequest = run.requests > 0 ? cpu * 1e6 / Double(run.requests) : nil
                    runs.append(run)
                    progress("\(target) \(run.mode) c\(connections): \(format(run.rps, 0)) rps, p50 \(format(run.p50Ms, 2)) ms, p99 \(format(run.p99Ms, 2)) ms")
                }
            }
          }
        }
        var ttft: [String: Double] = [:]
        var peakRSS: [String: Double] = [:]
        for target in targets {
            ttft[target.name] = try await self.ttft(http, base: target.base, key: target.key).percentile(50)
            if target.name != "direct" { peakRSS[String(target.name.dropFirst(8))] = BenchProcess.rss(target.pid).peak }
        }
        var held: [String: HeldStreams] = [:]
        if streams > 0 {
            // Paced streams (7 events, 300 ms apart) so that all of them are open at once.
            var faults = HTTPClientRequest(url: direct + "/_mock/faults")
            faults.method = .POST
            faults.body = .bytes(ByteBuffer(string: #"[{"fault":{"chunk_delay_ms":300}}]"#))
            _ = try await http.execute(faults, timeout: .seconds(5))
            for target in targets where target.name != "direct" {
                held[target.name] = try await HeldStreams.measure(count: streams, base: target.base, key: target.key, upstream: direct, admin: admin)
                progress("\(target.name): \(held[target.name]!.completed)/\(streams) streams held and completed in \(format(held[target.name]!.seconds, 1)) s")
                peakRSS[String(target.name.dropFirst(8))] = BenchProcess.rss(target.pid).peak
            }
        }
        let result = Result(runs: runs, ttftP50Ms: ttft, idleRSSMiB: idleRSS, peakRSSMiB: peakRSS, heldStreams: held)
        if json {
            print(String(decoding: try JSONEncoder().encode(result), as: UTF8.self))
        } else {
            print(render(result))
        }
    }

    private func progress(_ line: String) { if !json { printError("… " + line) } }

    private func wrkScript(root: String, key: String, stream: Bool) throws -> String {
        let path = root + "/\(stream ? "stream" : "json").lua"
        let body = #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello in five words."}],"max_tokens":16\#(stream ? #","stream":true"# : "")}"#
        let script = """
            wrk.method = "POST"
            wrk.headers["Content-Type"] = "application/json"
            wrk.headers["Authorization"] = "Bearer \(key)"
            wrk.body = '\(body)'
            done = function(summary, latency, requests)
              local e = summary.errors
              io.write(string.format("WRK %d %d %d %d %d\\n", summary.requests, summary.duration,
                e.connect + e.read + e.write + e.status + e.timeout, latency:percentile(50), latency:percentile(99)))
            end
            """
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// wrk against each of `bases` at once, `connections` split between them; requests and rates add up, and the
    /// latency percentiles are the worst of the parts.
    private func wrk(_ bases: [String], script: String, connections: Int, seconds: Int) throws -> Run {
        let parts = try bases.map { base -> (Process, Pipe) in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/wrk")
            // Two load-generator threads in all, as against one gateway: more would take the gateways' CPU on this box.
            process.arguments = ["-t\(max(1, 2 / bases.count))", "-c\(max(1, connections / bases.count))", "-d\(seconds)s", "--timeout", "10s", "-s", script,
                                 base + "/v1/chat/completions"]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            return (process, pipe)
        }
        var run = Run(target: "", mode: "", connections: connections, requests: 0, rps: 0, p50Ms: 0, p99Ms: 0, errors: 0,
                      cpuMicrosPerRequest: nil)
        for (process, pipe) in parts {
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("WRK ") }) else {
                throw CLIError("wrk printed no summary: \(output)")
            }
            let fields = line.split(separator: " ").dropFirst().compactMap { Double($0) }
            run.requests += Int(fields[0])
            run.rps += fields[0] / (fields[1] / 1e6)
            run.errors += Int(fields[2])
            run.p50Ms = max(run.p50Ms, fields[3] / 1000)
            run.p99Ms = max(run.p99Ms, fields[4] / 1000)
        }
        return run
    }

    /// Time to the first SSE data line of a streaming request, sequentially, on a kept-alive connection.
    private func ttft(_ http: HTTPClient, base: String, key: String) async throws -> Samples {
        var samples = Samples()
        for _ in 0..<ttftSamples {
            var request = HTTPClientRequest(url: base + "/v1/chat/completions")
            request.method = .POST
            request.headers.add(name: "authorization", value: "Bearer \(key)")
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: #"{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}"#))
            let started = ContinuousClock.now
            let response = try await http.execute(request, timeout: .seconds(10))
            var seen = ""
            var recorded = false
            for try await chunk in response.body {
                seen += String(buffer: chunk)
                if !recorded && seen.contains("\"content\":\"Hello\"") {
                    samples.add(.now - started)
                    recorded = true
                }
            }
        }
        return samples
    }

    /// A target's cell over every round: the median rps, p50 and p99 (each its own median).
    static func median(_ runs: [Run], _ target: String, _ mode: String, _ connections: Int) -> Run? {
        let cell = runs.filter { $0.target == target && $0.mode == mode && $0.connections == connections }
        guard var run = cell.first else { return nil }
        func middle(_ value: (Run) -> Double) -> Double {
            var samples = Samples()
            cell.forEach { samples.add(value($0)) }
            return samples.percentile(50)
        }
        run.rps = middle(\.rps)
        run.p50Ms = middle(\.p50Ms)
        run.p99Ms = middle(\.p99Ms)
        return run
    }

    private func render(_ r: Result) -> String {
        var lines = ["switchyard bench gateway: \(duration)s per run, wrk -t2, mock upstream = switchyard mock-upstream",
                     "target        mode    conn      rps   p50 ms   p99 ms  errors  cpu µs/req  db µs/req"]
        for run in r.runs {
            lines.append(String(format: "%-13@ %-6@ %5d %8.0f %8.2f %8.2f %7d  %10@  %@", run.target as NSString, run.mode as NSString,
                                run.connections, run.rps, run.p50Ms, run.p99Ms, run.errors,
                                (run.cpuMicrosPerRequest.map { String(format: "%.0f", $0) } ?? "-") as NSString,
                                (run.databaseMicrosPerRequest.map { String(format: "%.0f", $0) } ?? "-") as NSString))
        }
        let gateways = Set(r.runs.map(\.target)).subtracting(["direct"]).sorted()
        let cells = Set(r.runs.map { "\($0.connections) \($0.mode)" }).sorted { $0.localizedStandardCompare($1) == .orderedAscending }
        if Set(r.runs.map(\.round)).count > 1 && gateways.contains("gateway-nio-postgresql") && gateways.contains("gateway-nio") {
            for cell in cells {
                let ratios = Set(r.runs.map(\.round)).sorted().compactMap { round -> Double? in
                    let inCell = r.runs.filter { $0.round == round && "\($0.connections) \($0.mode)" == cell }
                    guard let pg = inCell.first(where: { $0.target == "gateway-nio-postgresql" }),
                          let lite = inCell.first(where: { $0.target == "gateway-nio" }), lite.rps > 0 else { return nil }
                    return pg.rps / lite.rps
                }
                var samples = Samples()
                ratios.forEach { samples.add($0) }
                lines.append("postgresql ÷ sqlite rps c\(cell): median \(format(samples.percentile(50), 2)) "
                             + "(rounds: \(ratios.map { format($0, 2) }.joined(separator: ", ")))")
            }
        }
        for connections in Set(r.runs.map(\.connections)).sorted() {
            for mode in ["json", "stream"] {
                guard let d = Self.median(r.runs, "direct", mode, connections) else { continue }
                for name in gateways {
                    guard let g = Self.median(r.runs, name, mode, connections) else { continue }
                    lines.append("\(name) added c\(connections) \(mode)\(rounds > 1 ? " (medians of \(rounds) rounds)" : ""): p50 +\(format(g.p50Ms - d.p50Ms, 2)) ms, p99 +\(format(g.p99Ms - d.p99Ms, 2)) ms, rps \(format(g.rps / d.rps, 2))× direct")
                }
            }
        }
        let direct = r.ttftP50Ms["direct"] ?? 0
        for name in gateways {
            lines.append("\(name) ttft p50 \(format(r.ttftP50Ms[name] ?? 0, 2)) ms (direct \(format(direct, 2)) ms, added \(format((r.ttftP50Ms[name] ?? 0) - direct, 2)) ms)")
        }
        for (name, held) in r.heldStreams.sorted(by: { $0.key < $1.key }) {
            lines.append("\(name) held \(held.opened) concurrent streams: \(held.completed) completed, \(held.failed) failed, \(format(held.seconds, 1)) s")
            for (cause, n) in held.failures.sorted(by: { $0.value > $1.value }) { lines.append("  failed \(n)× \(cause)") }
            for (reason, n) in held.gatewayRecorded.sorted(by: { $0.value > $1.value }) { lines.append("  gateway traced \(n)× \(reason)") }
            if held.upstreamAborted > 0 { lines.append("  mock upstream saw \(held.upstreamAborted) streams abandoned by the gateway") }
        }
        for (client, idle) in r.idleRSSMiB.sorted(by: { $0.key < $1.key }) {
            lines.append("gateway-\(client) RSS: idle \(format(idle)) MiB, peak \(format(r.peakRSSMiB[client] ?? 0)) MiB")
        }
        return lines.joined(separator: "\n")
    }
}
