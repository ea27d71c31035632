import GatewayFixtures
import Crypto
import Foundation
import GRDB
import Gateway
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Prometheus
import Scheduler
@_spi(Engine) import Store
import Testing
import TestSupport

/// A control-plane app on a fresh store of one engine, reached through Hummingbird's test client.
final class ControlFixture: Sendable {
    let store: TestStore
    var queue: StoreQueue { store.queue }
    let app: Application<RouterResponder<GatewayContext>>
    let deps: GatewayDependencies
    static let token = "sya_test_token_0123456789"

    init(_ engine: Engine = .sqlite) async throws {
        store = try await TestStore(engine)
        let (db, queue) = (store.db, store.queue)
        let options = GatewayOptions(adminToken: Self.token)
        deps = GatewayDependencies(
            db: db, queue: queue, registry: PrometheusCollectorRegistry(), secrets: SecretBox(key: SymmetricKey(size: .bits256)),
            payloadBox: nil, options: options, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        app = GatewayApp.testApplication(deps, options: options)
    }

    func test(_ body: @Sendable @escaping (any TestClientProtocol) async throws -> Void) async throws {
        do {
            try await app.test(.live) { client in try await body(client) }
        } catch {
            await deps.shutdown()
            throw error
        }
        await deps.shutdown()
    }
}

let auth: HTTPFields = [.authorization: "Bearer \(ControlFixture.token)"]

func decode<T: Decodable>(_ type: T.Type, _ response: TestResponse) throws -> T {
    try JSONDecoder().decode(T.self, from: Data(buffer: response.body))
}

func expectProblem(_ response: TestResponse, _ status: HTTPResponse.Status, sourceLocation: SourceLocation = #_sourceLocation) throws {
    #expect(response.status == status, sourceLocation: sourceLocation)
    #expect(response.headers[.contentType] == "application/problem+json", sourceLocation: sourceLocation)
    let problem = try decode(Problem.self, response)
    #expect(problem.status == status, sourceLocation: sourceLocation)
    #expect(!problem.detail.isEmpty, sourceLocation: sourceLocation)
}

@Suite struct ControlAPITests {
    @Test(arguments: Engine.allCases) func healthNeedsNoTokenAndReportsQueue(_ engine: Engine) async throws {
        let f = try await ControlFixture(engine)
        _ = try await f.queue.enqueue([NewJob(kind: "noop"), NewJob(kind: "noop")])
        try await f.test { client in
            let response = try await client.execute(uri: "/health", method: .get)
            #expect(response.status == .ok)
            let health = try decode(HealthView.self, response)
            #expect(health.status == "ok" && health.database == "ok")
            #expect(health.queue["available"] == 2)
        }
    }

    @Test(arguments: Engine.allCases) func apiRequiresTheAdminToken(_ engine: Engine) async throws {
        let f = try await ControlFixture(engine)
        try await f.test { client in
            try expectProblem(try await client.execute(uri: "/api/jobs", method: .get), .unauthorized)
            let wrong = try await client.execute(uri: "/api/jobs", method: .get, headers: [.authorization: "Bearer nope"])
            try expectProblem(wrong, .unauthorized)
            #expect(wrong.headers[.wwwAuthenticate] == "Bearer")
            #expect(try await client.execute(uri: "/api/jobs", method: .get, headers: auth).status == .ok)
        }
    }

    @Test(arguments: Engine.allCases) func listFiltersAndPaginates(_ engine: Engine) async throws {
        let f = try await ControlFixture(engine)
        _ = try await f.queue.enqueue((0..<7).map { NewJob(kind: $0 < 5 ? "a" : "b") })
        try await f.test { client in
            var cursor: String?
            var ids: [Int64] = []
            repeat {
                let uri = "/api/jobs?kind=a&limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try decode(JobPage.self, try await client.execute(uri: uri, method: .get, headers: auth))
                #expect(page.jobs.allSatisfy { $0.kind == "a" })
                ids += page.jobs.map(\.id)
                cursor = page.nextCursor
            } while cursor != nil
            #expect(ids.count == 5 && Set(ids).count == 5)
            try expectProblem(try await client.execute(uri: "/api/jobs?state=bogus", method: .get, headers: auth), .badRequest)
            try expectProblem(try await client.execute(uri: "/api/jobs?limit=0", method: .get, headers: auth), .badRequest)
        }
    }

    @Test(arguments: Engine.allCases) func showRetryCancelAndTheirErrors(_ engine: Engine) async throws {
        let f = try await ControlFixture(engine)
        let id = try await f.queue.enqueue([NewJob(kind: "noop", args: #"{"x":1}"#)])[0].id
        try await f.test { client in
            let shown = try decode(JobRecord.self, try await client.execute(uri: "/api/jobs/\(id)", method: .get, headers: auth))
            #expect(shown.args == .object(["x": .number(1)]) && shown.state == .available)
            try expectProblem(try await client.execute(uri: "/api/jobs/999999", method: .get, headers: auth), .notFound)
            try expectProblem(try await client.execute(uri: "/api/jobs/abc", method: .get, headers: auth), .badRequest)
            let cancelled = try decode(JobRecord.self, try await client.execute(uri: "/api/jobs/\(id)/cancel", method: .post, headers: auth))
            #expect(cancelled.state == .cancelled)
            try expectProblem(try await client.execute(uri: "/api/jobs/\(id)/cancel", method: .post, headers: auth), .conflict)
            let retried = try decode(JobRecord.self, try await client.execute(uri: "/api/jobs/\(id)/retry", method: .post, headers: auth))
            #expect(retried.state == .available)
            try expectProblem(try await client.execute(uri: "/api/jobs/999999/retry", method: .post, headers: auth), .notFound)
            try expectProblem(try await client.execute(uri: "/api/nothing-here", method: .get, headers: auth), .notFound)
        }
    }

    @Test(arguments: Engine.allCases) func enqueueOverHTTPIncludingDuplicatesAndBadInput(_ engine: Engine) async throws {
        let f = try await ControlFixture(engine)
        try await f.test { client in
            let body = ByteBuffer(string: #"{"kind":"noop","args":{"n":1},"unique_key":"u1"}"#)
            let created = try await client.execute(uri: "/api/jobs", method: .post, headers: auth, body: body)
            #expect(created.status == .created)
            let first = try decode(EnqueueResultView.self, created)
            let again = try await client.execute(uri: "/api/jobs", method: .post, headers: auth, body: body)
            #expect(again.status == .ok)
            let second = try decode(EnqueueResultView.self, again)
            #expect(second.duplicate && second.id == first.id && second.message == "already enqueued")

            let malformed = try await client.execute(uri: "/api/jobs", method: .post, headers: auth, body: ByteBuffer(string: #"{"kind":"noop","args":{"#))
            try expectProblem(malformed, .badRequest)
            let missing = try await client.execute(uri: "/api/jobs", method: .post, headers: auth, body: ByteBuffer(string: #"{"args":{}}"#))
            try expectProblem(missing, .badRequest)
            let empty = try await client.execute(uri: "/api/jobs", method: .post, headers: auth, body: ByteBuffer(string: #"{"kind":""}"#))
            try expectProblem(empty, .badRequest)
        }
        #expect(try await f.queue.jobs(JobQuery()).jobs.count == 1)
    }

    @Test(arguments: Engine.allCases) func schedulesListAndPatch(_ engine: Engine) async throws {
        let f = try await ControlFixture(engine)
        try await f.queue.register([Schedule(name: "yard.prune", kind: "yard.prune", interval: .seconds(86400))])
        try await f.test { client in
            let list = try decode(ScheduleListView.self, try await client.execute(uri: "/api/schedules", method: .get, headers: auth))
            #expect(list.schedules.map(\.name) == ["yard.prune"] && list.schedules[0].intervalS == 86400)
            let patch = ByteBuffer(string: #"{"interval_s":3600,"enabled":false}"#)
            let patched = try decode(ScheduleView.self, try await client.execute(uri: "/api/schedules/yard.prune", method: .patch, headers: auth, body: patch))
            #expect(patched.intervalS == 3600 && !patched.enabled)
            try expectProblem(try await client.execute(uri: "/api/schedules/nope", method: .patch, headers: auth, body: patch), .notFound)
            let bad = ByteBuffer(string: #"{"interval_s":0}"#)
            try expectProblem(try await client.execute(uri: "/api/schedules/yard.prune", method: .patch, headers: auth, body: bad), .unprocessableContent)
        }
    }

    @Test(arguments: Engine.allCases) func metricsExposeJobsByStateAndKind(_ engine: Engine) async throws {
        let f = try await ControlFixture(engine)
        _ = try await f.queue.enqueue([NewJob(kind: "noop"), NewJob(kind: "sleep")])
        try await f.test { client in
            let response = try await client.execute(uri: "/metrics", method: .get)
            #expect(response.status == .ok)
            let text = String(buffer: response.body)
            #expect(text.contains(#"switchyard_jobs{state="available",kind="noop",queue="default"} 1"#))
            #expect(text.contains(#"switchyard_jobs{state="available",kind="sleep",queue="default"} 1"#))
        }
    }

    /// A body over `--max-body-bytes` is too large, not malformed, on either HTTP server; nothing is stored.
    @Test(arguments: [true, false], Engine.allCases) func apiBodyOverTheLimitIs413(directHTTP: Bool, engine: Engine) async throws {
        let f = try await RelayFixture(engine, relay: RelayOptions(maxBodyBytes: 4096), directHTTP: directHTTP)
        try await f.test { client in
            let big = try JSONSerialization.data(withJSONObject: ["name": String(repeating: "x", count: 10_000)])
            let response = try await client.execute(uri: "/api/users", method: .post, headers: RelayFixture.admin, body: ByteBuffer(bytes: big))
            try expectProblem(response, .contentTooLarge)
            #expect(try decode(Problem.self, response).detail.contains("4096"))
            let users = try await f.db.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM users") }
            #expect(users == 0)
            // Under the limit it still works.
            try await f.api(client, .post, "/api/users", ["name": "bob"], expect: .created)
        }
    }
}
