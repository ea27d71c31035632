import AsyncHTTPClient
import Foundation
import Gateway
import Jobs
import NIOCore
import NIOHTTP1
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
    func shutdown() async
}

/// Acts on the SQLite file directly (works with or without a daemon running on it).
struct LocalBackend: ControlBackend {
    let driver: SQLiteQueue

    init(database: DatabaseOptions) throws {
        let db = try AppDatabase.open(dataDir: database.dataDir, synchronous: database.synchronous)
        driver = SQLiteQueue(pool: db.pool)
    }

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

    func shutdown() async {}
}

/// Acts through a daemon's `/api` with the admin token.
struct RemoteBackend: ControlBackend {
    let base: String
    let token: String
    let client = HTTPClient(eventLoopGroupProvider: .singleton)

    func list(_ query: JobQuery) async throws -> JobPage {
        var items: [String] = ["limit=\(query.limit)"]
        if let state = query.state { items.append("state=\(state.rawValue)") }
        if let kind = query.kind { items.append("kind=\(escape(kind))") }
        if let queue = query.queue { items.append("queue=\(escape(queue))") }
        if let before = query.before { items.append("cursor=\(before)") }
        return try await call(.GET, "/api/jobs?" + items.joined(separator: "&"))
    }

    func show(_ id: Int64) async throws -> JobRecord { try await call(.GET, "/api/jobs/\(id)") }
    func retry(_ id: Int64) async throws -> JobRecord { try await call(.POST, "/api/jobs/\(id)/retry") }
    func cancel(_ id: Int64) async throws -> JobRecord { try await call(.POST, "/api/jobs/\(id)/cancel") }

    func enqueue(_ request: EnqueueRequest) async throws -> EnqueueResultView {
        try await call(.POST, "/api/jobs", body: try JSONEncoder.sortedKeys.encode(request))
    }

    func schedules() async throws -> ScheduleListView { try await call(.GET, "/api/schedules") }

    func runSchedule(_ name: String) async throws -> EnqueueResultView {
        try await call(.POST, "/api/schedules/\(segment(name))/run")
    }

    func updateSchedule(_ name: String, _ patch: SchedulePatch) async throws -> ScheduleView {
        try await call(.PATCH, "/api/schedules/\(segment(name))", body: try JSONEncoder.sortedKeys.encode(patch))
    }

    func shutdown() async { try? await client.shutdown() }

    /// One path segment: dots stay (schedule names are like `usage.settle`), slashes do not.
    private func segment(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? value
    }

    private func escape(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value
    }

    private func call<T: Decodable>(_ method: HTTPMethod, _ path: String, body: Data? = nil) async throws -> T {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await client.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        let data = Data(buffer: bytes)
        guard (200..<300).contains(response.status.code) else {
            if let problem = try? JSONDecoder().decode(Problem.self, from: data) {
                throw CLIError("\(response.status.code) \(problem.title): \(problem.detail)")
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
