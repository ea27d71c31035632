import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Child processes of a benchmark (the mock upstream, daemons) and what it reads about them.
enum BenchProcess {
    /// A fresh directory for one benchmark run under the temp dir (the caller removes it).
    static func scratch(_ name: String) throws -> String {
        let root = NSTemporaryDirectory() + "switchyard-\(name)-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        return root
    }

    static func spawn(_ executable: String, _ arguments: [String], env: [String: String], log: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(env.merging(["SWITCHYARD_EXIT_WITH_PARENT": "1"]) { $1 }) { $1 }
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    static func waitFor(_ http: HTTPClient, _ url: String) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let response = try? await http.execute(HTTPClientRequest(url: url), timeout: .seconds(2)), response.status == .ok { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw CLIError("\(url) did not come up")
    }

    /// An admin API call (a GET without `body`); the answer's JSON object, or empty.
    static func call(_ http: HTTPClient, _ method: HTTPMethod, _ url: String, _ body: [String: Any]? = nil, token: String) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "authorization", value: "Bearer \(token)")
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
        }
        let response = try await http.execute(request, timeout: .seconds(10))
        let data = try await response.body.collect(upTo: 1 << 20)
        return (try JSONSerialization.jsonObject(with: Data(buffer: data)) as? [String: Any]) ?? [:]
    }

    static func provision(_ http: HTTPClient, base: String, admin: String, upstream: String) async throws -> String {
        let user = try await call(http, .POST, base + "/api/users", ["name": "bench"], token: admin)
        let key = try await call(http, .POST, base + "/api/keys", ["user_id": user["id"] ?? 0, "name": "bench"], token: admin)
        _ = try await call(http, .POST, base + "/api/channels", ["name": "mock", "type": "openai", "base_url": upstream,
                                                                "api_key": "sk-upstream-bench", "models": ["gpt-4o-mini"]], token: admin)
        _ = try await call(http, .PUT, base + "/api/models/gpt-4o-mini", ["input_price": 150_000_000, "output_price": 600_000_000], token: admin)
        guard let plain = key["key"] as? String else { throw CLIError("could not create a bench key") }
        return plain
    }

    static func cpuSeconds(_ pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        let ticks = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func rss(_ pid: Int32) -> (current: Double, peak: Double) {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return (0, 0) }
        func value(_ name: String) -> Double {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name) }) else { return 0 }
            return (Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) / 1024
        }
        return (value("VmRSS:"), value("VmHWM:"))
    }

}

/// The mock upstream on `port` and a daemon on `port + 1` (data and artifacts under `root`), both answering,
/// with a user, a key and a channel to the mock provisioned: what the import and maintenance benches drive.
struct BenchTestbed {
    let admin: String
    let mockBase: String
    let base: String
    let key: String
    let mock: Process
    let daemon: Process

    static func start(root: String, port: Int, daemonArguments: [String]) async throws -> BenchTestbed {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).path
        let admin = "bench-admin-\(UUID().uuidString.prefix(8))"
        let mockBase = "http://127.0.0.1:\(port)", base = "http://127.0.0.1:\(port + 1)"
        let mock = try BenchProcess.spawn(executable, ["mock-upstream", "--port", "\(port)"], env: [:], log: root + "/mock.log")
        let daemon: Process
        do {
            daemon = try BenchProcess.spawn(executable, [
                "serve", "--port", "\(port + 1)", "--data-dir", root + "/data", "--artifacts-dir", root + "/artifacts", "--log-level", "warning",
            ] + daemonArguments, env: ["SWITCHYARD_ADMIN_TOKEN": admin], log: root + "/daemon.log")
        } catch {
            stop([mock])
            throw error
        }
        do {
            try await BenchProcess.waitFor(HTTPClient.shared, mockBase + "/v1/models")
            try await BenchProcess.waitFor(HTTPClient.shared, base + "/health")
            let key = try await BenchProcess.provision(HTTPClient.shared, base: base, admin: admin, upstream: mockBase)
            return BenchTestbed(admin: admin, mockBase: mockBase, base: base, key: key, mock: mock, daemon: daemon)
        } catch {
            stop([daemon, mock])
            throw error
        }
    }

    func stop() { Self.stop([daemon, mock]) }

    private static func stop(_ processes: [Process]) {
        for process in processes where process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}
