import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import Store
import Synchronization

/// `switchyard bench import --items 1000`: a daemon imports N upstream keys from the mock upstream, with a mix of
/// scripted faults (auth failures, a 503 warm-up, a 403 that clears, a 429 with retry-after, a missing model),
/// while paced ordinary traffic goes through the same gateway. Prints the import's wall time and rate, its
/// outcomes, and the gateway's latency for that traffic idle and during the import.
struct ImportBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "import", abstract: "Batch import throughput and its effect on the gateway.")

    @Option(help: "Items in the import.") var items = 1000
    @Option(help: "Items of the run probed at once.") var concurrency = 8
    @Option(help: "Items started per second (the run's rate_per_s; 0: unpaced).") var ratePerS = ImportOptions.defaultRate
    @Option(help: "Import workers in the daemon (--queue import=N).") var workers = 16
    @Option(help: "First of two loopback ports (mock upstream, daemon).") var port = 18_400
    @Option(help: "Requests per second of ordinary traffic through the gateway.") var rate = 200
    @Option(help: "Seconds of idle traffic measured before the import (about as long as the import, so both windows see the same share of this shared machine's noise).") var idleSeconds = 45
    @OptionGroup var database: ScratchDatabaseOption

    func run() async throws {
        let root = try BenchProcess.scratch("importbench")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try await database.withEmptied(poolSize: 2)
        let testbed = try await BenchTestbed.start(root: root, port: port, daemonArguments: database.daemonArguments + [
            "--allow-private-upstreams", "--queue", "default=4", "--queue", "maintenance=1", "--queue", "import=\(workers)"])
        defer { testbed.stop() }
        let (admin, mockBase, base, key) = (testbed.admin, testbed.mockBase, testbed.base, testbed.key)
        let http = HTTPClient.shared

        // The fault mix, by key: 1 in 20 each fails auth, warms up once, answers 403 once, 429s once, lacks the model.
        var rules: [[String: Any]] = []
        for index in 0..<items {
            let k = Self.key(index)
            switch index % 20 {
            case 1: rules.append(["key": k, "fault": ["status": 401]])
            case 2: rules.append(["key": k, "fault": ["status": 503, "times": 1]])
            case 3: rules.append(["key": k, "fault": ["status": 403, "times": 1]])
            case 4: rules.append(["key": k, "fault": ["status": 429, "retry_after": 1, "times": 1]])
            case 5: rules.append(["key": k, "model": "gpt-4o-mini", "fault": ["missing_model": true]])
            default: break
            }
        }
        var faults = HTTPClientRequest(url: mockBase + "/_mock/faults")
        faults.method = .POST
        faults.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: rules)))
        _ = try await http.execute(faults, timeout: .seconds(10))

        printError("… idle gateway traffic, \(rate) req/s for \(idleSeconds) s")
        let idle = try await Traffic.measure(base: base, key: key, rate: rate) { try await Task.sleep(for: .seconds(idleSeconds)) }
        printError("… importing \(items) items (concurrency \(concurrency), \(ratePerS) items/s at most, \(workers) workers) under the same traffic")
        var summary: [String: Any] = [:]
        var seconds = 0.0
        let busy = try await Traffic.measure(base: base, key: key, rate: rate) {
            let list = (0..<items).map { ["base_url": mockBase, "api_key": Self.key($0), "smoke_model": "gpt-4o-mini"] }
            let started = ContinuousClock.now
            let created = try await BenchProcess.call(http, .POST, base + "/api/batch-import/runs", [
                "items": list, "options": ["concurrency": concurrency, "rate_per_s": ratePerS, "confirm_delay_s": 1, "retry_window_s": 120,
                            "max_attempts": 4]],
                token: admin)
            guard let runId = created["run_id"] as? String else { throw CLIError("import not accepted: \(created)") }
            while true {
                summary = try await BenchProcess.call(http, .GET, base + "/api/batch-import/runs/\(runId)", token: admin)
                if summary["artifact_path"] is String { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            seconds = (ContinuousClock.now - started).seconds
        }
        let outcomes = ((summary["counts"] as? [String: Any])?["by_outcome"] as? [String: Int] ?? [:])
            .sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        print("""
            switchyard bench import: \(items) items against the mock upstream (fault mix: 1 in 20 each of 401, 503 once, 403 once, 429 once, missing model)
            import: \(format(seconds, 1)) s wall, \(format(Double(items) / seconds, 1)) items/s, state \(summary["state"] ?? "?"), outcomes: \(outcomes)
            gateway \(rate) req/s idle:   \(idle.latencySummary)
            gateway \(rate) req/s import: \(busy.latencySummary)
            p99 during import / idle p99: \(format(busy.percentile(99) / max(idle.percentile(99), 0.001), 2))×
            daemon peak RSS \(format(BenchProcess.rss(testbed.daemon.processIdentifier).peak)) MiB
            """)
    }

    static func key(_ index: Int) -> String { String(format: "sk-bench-import-%06d", index) }
}

/// Paced chat completions through the gateway (open loop: a request every 1/rate s), latency per request.
enum Traffic {
    static func measure(base: String, key: String, rate: Int, while work: () async throws -> Void) async throws -> Samples {
        let samples = SampleBox()
        let body = #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"#
        // A scoped client: shut down however `work` ends (one dropped unshut traps in a debug build).
        try await HTTPClient.withHTTPClient { client in
            let generator = Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    let interval = Duration.seconds(1) / rate
                    var next = ContinuousClock.now
                    while !Task.isCancelled {
                        next += interval
                        try? await Task.sleep(until: next)
                        group.addTask {
                            var request = HTTPClientRequest(url: base + "/v1/chat/completions")
                            request.method = .POST
                            request.headers.add(name: "authorization", value: "Bearer \(key)")
                            request.headers.add(name: "content-type", value: "application/json")
                            request.body = .bytes(ByteBuffer(string: body))
                            let started = ContinuousClock.now
                            guard let response = try? await client.execute(request, timeout: .seconds(10)),
                                  (try? await response.body.collect(upTo: 1 << 20)) != nil, response.status == .ok else { return }
                            let elapsed = ContinuousClock.now - started
                            samples.value.withLock { $0.add(elapsed) }
                        }
                    }
                    group.cancelAll()
                }
            }
            defer { generator.cancel() }
            try await work()
            generator.cancel()
            _ = try? await generator.value
        }
        return samples.value.withLock { $0 }
    }
}

/// Samples shared by the generator's request tasks.
final class SampleBox: Sendable {
    let value = Mutex(Samples())
}
