import AsyncHTTPClient
import Foundation
import Gateway
import Jobs
import NIOCore
import NIOHTTP1
import Probe
import Scheduler
import Store

/// Where the control verbs act: the database file directly, or a running daemon over HTTP.
protocol ControlBackend: Sendable {
    func list(_ query: JobQuery) async throws -> JobPage
    func show(_ id: Int64) async throws -> JobRecord
    func retry(_ id: Int64) async throws -> JobRecord
    func cancel(_ id: Int64) async throws -> JobRecord
    func enqueue(_ request: EnqueueRequest) async throws -> EnqueueResultView
    func schedules() async throws -> ScheduleListView
    func runSchedule(_ name: String) async throws -> EnqueueResultView
    func updateSchedule(_ name: String, _ patch: SchedulePatch) async throws -> ScheduleView
}

/// Acts on the database directly (works with or without a daemon running on it): the SQLite file, which must
/// exist (only `serve` creates one, so a mistyped `--data-dir` is refused instead of answered from a new empty
/// database), or PostgreSQL.
struct LocalBackend: ControlBackend {
    let driver: any QueueDriver

    func list(_ query: JobQuery) async throws -> JobPage { try await driver.jobs(query) }

    func show(_ id: Int64) async throws -> JobRecord {
        guard let job = try await driver.job(id: id) else { throw SchedulerError.notFound(id) }
        return job
    }

    func retry(_ id: Int64) async throws -> JobRecord { try await driver.retry(id: id) }
    func cancel(_ id: Int64) async throws -> JobRecord { try await driver.cancel(id: id) }

    func enqueue(_ request: EnqueueRequest) async throws -> EnqueueResultView {
        EnqueueResultView(try await driver.enqueue([request.newJob(now: driver.clock.nowMillis())])[0])
    }

    // The built-in schedules are registered first, as a daemon does at start, so a file no daemon has opened yet
    // has them too; an operator's interval and enabled flag are kept.
    func schedules() async throws -> ScheduleListView {
        try await driver.register(BuiltinJobs.schedules)
        return ScheduleListView(schedules: try await driver.schedules().map(ScheduleView.init))
    }

    func runSchedule(_ name: String) async throws -> EnqueueResultView {
        try await driver.register(BuiltinJobs.schedules)
        return EnqueueResultView(try await driver.runSchedule(name: name))
    }

    func updateSchedule(_ name: String, _ patch: SchedulePatch) async throws -> ScheduleView {
        try await driver.register(BuiltinJobs.schedules)
        let interval = patch.intervalS.map { Duration.milliseconds(Int64($0 * 1000)) }
        return ScheduleView(try await driver.updateSchedule(name: name, interval: interval, enabled: patch.enabled))
    }
}

/// Acts through a daemon's `/api` with the admin token.
struct RemoteBackend: ControlBackend {
    let http: AdminHTTP

    func list(_ query: JobQuery) async throws -> JobPage {
        var items: [String] = ["limit=\(query.limit)"]
        if let state = query.state { items.append("state=\(state.rawValue)") }
        if let kind = query.kind { items.append("kind=\(AdminHTTP.escape(kind))") }
        if let queue = query.queue { items.append("queue=\(AdminHTTP.escape(queue))") }
        if let before = query.before { items.append("cursor=\(before)") }
        return try await http.call(.GET, "/api/jobs?" + items.joined(separator: "&"))
    }

    func show(_ id: Int64) async throws -> JobRecord { try await http.call(.GET, "/api/jobs/\(id)") }
    func retry(_ id: Int64) async throws -> JobRecord { try await http.call(.POST, "/api/jobs/\(id)/retry") }
    func cancel(_ id: Int64) async throws -> JobRecord { try await http.call(.POST, "/api/jobs/\(id)/cancel") }

    func enqueue(_ request: EnqueueRequest) async throws -> EnqueueResultView {
        try await http.call(.POST, "/api/jobs", body: try JSONEncoder.sortedKeys.encode(request))
    }

    func schedules() async throws -> ScheduleListView { try await http.call(.GET, "/api/schedules") }

    func runSchedule(_ name: String) async throws -> EnqueueResultView {
        try await http.call(.POST, "/api/schedules/\(AdminHTTP.segment(name))/run")
    }

    func updateSchedule(_ name: String, _ patch: SchedulePatch) async throws -> ScheduleView {
        try await http.call(.PATCH, "/api/schedules/\(AdminHTTP.segment(name))", body: try JSONEncoder.sortedKeys.encode(patch))
    }
}

/// A daemon's `/api` over HTTP with the admin token; problem JSON becomes a one-line error.
struct AdminHTTP: Sendable {
    let base: String
    let token: String
    let client: HTTPClient

    /// Runs `body` with a client that is shut down however `body` ends: a client dropped unshut on an error path
    /// traps in its deinit ("Client not shut down before the deinit") instead of letting the error be printed.
    static func with<T>(base: String, token: String, _ body: (AdminHTTP) async throws -> T) async throws -> T {
        try await HTTPClient.withHTTPClient(configuration: configuration) { client in
            try await body(AdminHTTP(base: base, token: token, client: client))
        }
    }

    private static var configuration: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(30))
        // One call to the operator's own daemon: a refused connection is the answer ("is it running?"), not
        // something to retry until the connect timeout.
        configuration.connectionPool.retryConnectionEstablishment = false
        return configuration
    }

    private init(base: String, token: String, client: HTTPClient) {
        self.base = base.hasSuffix("/") ? String(base.dropLast()) : base
        self.token = token
        self.client = client
    }

    /// One path segment: dots stay (schedule names are like `usage.settle`), slashes do not.
    static func segment(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? value
    }

    static func escape(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value
    }

    func call<T: Decodable>(_ method: HTTPMethod, _ path: String, body: Data? = nil, contentType: String = "application/json",
                            headers: [(String, String)] = []) async throws -> T {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .seconds(30))
        } catch {
            throw CLIError("cannot reach \(ErrorText.redacted(base)): \(ConnectionErrorText.describe(error))")
        }
        let data = Data(buffer: try await response.body.collect(upTo: 64 << 20))
        guard (200..<300).contains(response.status.code) else {
            if let problem = try? JSONDecoder().decode(Problem.self, from: data) {
                let items = (problem.errors ?? []).map { "\n  item \($0.index.map(String.init) ?? "-") \($0.field): \($0.message)" }.joined()
                throw CLIError("\(response.status.code) \(problem.title): \(problem.detail)\(items)")
            }
            throw CLIError("\(response.status.code) \(response.status.reasonPhrase)")
        }
        return try JSONDecoder().decode(T.self, from: data)
    }
}

/// An error the command line prints as it is and exits 1 for.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
