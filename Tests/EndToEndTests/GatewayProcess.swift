import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import TestSupport

/// A real daemon and a real mock upstream as child processes, driven over loopback HTTP.
final class GatewayProcess: @unchecked Sendable {  // driven by one test at a time
    let tmp: TempDir
    let database: DaemonDatabase
    var dataDir: String { database.dataDir }
    var port = 0
    var mockPort = 0
    let adminToken = "sya_e2e_admin_token"
    var daemon: DaemonProcess
    let mock: DaemonProcess
    var clientKey = ""
    static let upstreamKey = "sk-upstream-E2E-SECRET-4242424242"
    let extraArgs: [String]
    let env: [String: String]

    init(_ engine: Engine = .sqlite, extraArgs: [String] = [], env: [String: String] = [:]) async throws {
        tmp = try TempDir()
        database = try await DaemonDatabase(engine, tmp: tmp)
        // The engine's arguments after `--data-dir <dir>` (on PostgreSQL, `--database-url <url>`).
        let allArgs = Array(database.args.dropFirst(2)) + extraArgs
        self.extraArgs = allArgs
        self.env = env
        // Port 0 everywhere: the processes say which port they got (no collisions with ephemeral ports).
        mock = try DaemonProcess(["mock-upstream", "--port", "0"], logDir: tmp.path, name: "mock")
        daemon = try Self.startDaemon(tmp: tmp, dataDir: database.dataDir, token: adminToken, extraArgs: allArgs, env: env, name: "daemon")
        mockPort = try #require(await mock.listeningPort(), "mock did not start: \(mock.stderr)")
        try await waitUntilUp()
    }

    static func startDaemon(tmp: TempDir, dataDir: String, token: String, extraArgs: [String], env: [String: String],
                            name: String) throws -> DaemonProcess {
        var environment = env
        environment["SWITCHYARD_ADMIN_TOKEN"] = token
        // `{tmp}` in an argument is the test's temp directory (artifacts, lists).
        let args = extraArgs.map { $0.replacingOccurrences(of: "{tmp}", with: tmp.path) }
        return try DaemonProcess(["serve", "--data-dir", dataDir, "--port", "0", "--log-level", "info"] + args,
                                 environment: environment, logDir: tmp.path, name: name)
    }

    /// Starts the daemon again on the same data dir (after a kill or a stop).
    func restart(name: String) async throws {
        daemon = try Self.startDaemon(tmp: tmp, dataDir: dataDir, token: adminToken, extraArgs: extraArgs, env: env, name: name)
        try await waitUntilUp()
    }

    /// Starts a batch import of `items` with `options` (202 required); its run id.
    func startImport(_ items: [[String: Any]], options: [String: Any]) async throws -> String {
        let created = try await admin(.POST, "/api/batch-import/runs", ["items": items, "options": options])
        try #require(created.status == 202, "\(created.body)")
        return try #require(created.json["run_id"] as? String, "\(created.body)")
    }

    /// The engine's arguments after `--data-dir <dir>` (`--database-url <url>` on PostgreSQL, none on SQLite).
    var engineArgs: [String] { Array(database.args.dropFirst(2)) }

    /// Another `serve` on this daemon's database (`args` after the engine's), listening; with its base URL.
    func startSibling(_ args: [String], name: String) async throws -> (process: DaemonProcess, base: String) {
        let sibling = try Self.startDaemon(tmp: tmp, dataDir: dataDir, token: adminToken, extraArgs: engineArgs + args, env: [:], name: name)
        let port = try #require(await sibling.listeningPort(), "\(name) did not start: \(sibling.stderr.suffix(2000))")
        return (sibling, "http://127.0.0.1:\(port)")
    }

    /// `serve --role worker` processes on this daemon's database (`args` after the engine's and the role), each
    /// running its worker pools before this returns.
    func startWorkers(_ names: [String], args: [String]) async throws -> [DaemonProcess] {
        let workers = try names.map { name in
            try Self.startDaemon(tmp: tmp, dataDir: dataDir, token: adminToken, extraArgs: engineArgs + ["--role", "worker"] + args,
                                 env: [:], name: name)
        }
        for worker in workers {
            try #require(await eventually(timeout: .seconds(60)) { worker.stderr.contains("worker pool started") },
                         "\(worker.name) did not start: \(worker.stderr.suffix(2000))")
        }
        return workers
    }

    func waitUntilUp() async throws {
        port = try #require(await daemon.listeningPort(), "daemon did not start: \(daemon.stderr.suffix(2000))")
        let up = await eventually(timeout: .seconds(60)) {
            let mockUp = (try? await self.request(.GET, "http://127.0.0.1:\(self.mockPort)/v1/models").status) == 200
            let daemonUp = (try? await self.request(.GET, "\(self.base)/health").status) == 200
            return mockUp && daemonUp
        }
        try #require(up, "daemon or mock did not come up: \(daemon.stderr.suffix(2000))")
    }

    var base: String { "http://127.0.0.1:\(port)" }
    var mockBase: String { "http://127.0.0.1:\(mockPort)" }

    struct Reply: Sendable {
        let status: Int
        let body: String
        let headers: HTTPHeaders
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]) ?? [:] }
    }

    func request(_ method: HTTPMethod, _ url: String, json: Any? = nil, headers: [(String, String)] = []) async throws -> Reply {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let json {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
        }
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
            let body = try await response.body.collect(upTo: 32 << 20)
            return Reply(status: Int(response.status.code), body: String(buffer: body), headers: response.headers)
        } catch {
            throw RequestFailure(method: method, url: url, error: error)
        }
    }

    /// A request that failed, saying which one: a bare `deadlineExceeded` does not tell the mock from the daemon.
    struct RequestFailure: Error, CustomStringConvertible {
        let method: HTTPMethod, url: String, error: any Error
        var description: String { "\(method) \(url): \(error)" }
    }

    func admin(_ method: HTTPMethod, _ path: String, _ json: Any? = nil) async throws -> Reply {
        try await request(method, base + path, json: json, headers: [("authorization", "Bearer \(adminToken)")])
    }

    func chat(stream: Bool = false, model: String = "gpt-4o-mini") async throws -> Reply {
        var body: [String: Any] = ["model": model, "messages": [["role": "user", "content": "hello"]]]
        if stream { body["stream"] = true }
        return try await request(.POST, base + "/v1/chat/completions", json: body, headers: [("authorization", "Bearer \(clientKey)")])
    }

    /// A user, a key and one OpenAI channel to the mock plus one Anthropic channel.
    func provision() async throws {
        let user = try await admin(.POST, "/api/users", ["name": "e2e"])
        try #require(user.status == 201, "\(user.body)")
        let key = try await admin(.POST, "/api/keys", ["user_id": user.json["id"] as! Int, "name": "e2e"])
        clientKey = key.json["key"] as! String
        for (type, models) in [("openai", ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small"]), ("anthropic", ["claude-3-5-sonnet-20241022"])] {
            let channel = try await admin(.POST, "/api/channels", [
                "name": "mock-\(type)", "type": type, "base_url": mockBase, "api_key": Self.upstreamKey, "models": models])
            try #require(channel.status == 201, "\(channel.body)")
        }
        let price = try await admin(.PUT, "/api/models/gpt-4o-mini", ["input_price": 150_000_000, "output_price": 600_000_000])
        try #require(price.status == 200, "\(price.body)")
    }

    func setFaults(_ rules: [[String: Any]]) async throws {
        let reply = try await request(.POST, mockBase + "/_mock/faults", json: rules)
        #expect(reply.status == 204)
    }
}
