import Crypto
import Foundation
import GRDB
import Gateway
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Jobs
import Logging
import MockUpstream
import NIOCore
import Probe
import Prometheus
import Scheduler
@_spi(Engine) import Store
import Testing
@_exported import TestSupport

/// A live gateway (real HTTP on a free port) with import and maintenance workers, on a fresh database, and the
/// mock upstream: what a batch import needs (its confirmation goes through the gateway over HTTP) and a reconcile.
public final class ImportFixture: @unchecked Sendable {  // set up once, then read by the test only
    public let store: TestStore
    public var dir: String { store.dir }
    public var db: AppDatabase { store.db }
    public var queue: StoreQueue { store.queue }
    public let deps: GatewayDependencies
    public let env: ImportEnvironment
    public let reconcile: ReconcileEnvironment
    public let app: Application<RouterResponder<GatewayContext>>
    public let mock: RunningMockUpstream
    public let artifactsDir: String
    public static let adminToken = "sya_import_admin_token"

    /// `catalog` gets the mock's base URL (catalog defaults can point at it).
    public init(_ engine: Engine = .sqlite, script: MockScript = MockScript(), catalog: (String) throws -> ProviderCatalog = { _ in ProviderCatalog([]) },
         allowPrivate: Bool = true, maxBodyBytes: Int = 8 << 20, probeTimeout: Duration = .seconds(5)) async throws {
        mock = try await RunningMockUpstream.start(script: script)
        let catalog = try catalog(mock.baseURL)
        store = try await TestStore(engine)
        artifactsDir = store.dir + "/artifacts"
        let (db, queue) = (store.db, store.queue)
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let secrets = SecretBox(key: SymmetricKey(size: .bits256))
        let options = GatewayOptions(adminToken: Self.adminToken, relay: RelayOptions(maxBodyBytes: maxBodyBytes, autoDisableAfter: 3),
                                     artifactsDir: artifactsDir, allowPrivateUpstreams: allowPrivate)
        deps = GatewayDependencies(db: db, queue: queue, registry: PrometheusCollectorRegistry(), secrets: secrets, payloadBox: nil,
                                   catalog: catalog, options: options, logger: logger)
        env = ImportEnvironment(
            runs: deps.runs, secrets: secrets, catalog: catalog, probe: ProbeClient(timeout: probeTimeout),
            gateway: GatewayEndpoint(url: nil, adminToken: Self.adminToken), artifacts: deps.artifacts, allowPrivate: allowPrivate,
            forbiddenRetryDelay: .milliseconds(100), retryBase: .milliseconds(50))
        reconcile = ReconcileEnvironment(runs: deps.reconciles, secrets: secrets, catalog: catalog, probe: ProbeClient(timeout: probeTimeout),
                                         artifacts: deps.artifacts, concurrency: 4)
        reconcile.changed.set { [state = deps.state] in try? await state.reload() }
        app = GatewayApp.testApplication(deps, options: options)
    }

    /// Runs `body` against the live gateway while import and maintenance (reconcile) worker pools run.
    public func run(_ body: @Sendable @escaping (any TestClientProtocol) async throws -> Void) async throws {
        let env = self.env
        let queue = self.queue
        let registry = JobRegistry(env.handlers + reconcile.handlers)
        defer { mock.stop() }
        // The dependencies' HTTP clients must be shut down on every path: one dropped unshut traps the whole test
        // process, and the failure that caused it is never reported.
        do {
            try await runPools(env: env, queue: queue, registry: registry, body)
        } catch {
            await deps.shutdown()
            throw error
        }
        await deps.shutdown()
    }

    private func runPools(env: ImportEnvironment, queue: StoreQueue, registry: JobRegistry,
                          _ body: @Sendable @escaping (any TestClientProtocol) async throws -> Void) async throws {
        try await app.test(.live) { client in
            env.gateway.set("http://127.0.0.1:\(client.port!)")
            let pools = [ImportJobs.queue, ReconcileJobs.queue].map { name in
                WorkerPool(driver: queue, registry: registry,
                           options: WorkerOptions(queue: name, concurrency: 16, pollInterval: .milliseconds(20)),
                           logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
            }
            let tasks = pools.map { pool in Task { try await pool.run() } }
            do {
                try await body(client)
            } catch {
                for pool in pools { pool.stop() }
                for task in tasks { _ = try? await task.value }
                throw error
            }
            for pool in pools { pool.stop() }
            for task in tasks { try await task.value }
        }
    }

    public static let admin: HTTPFields = [.authorization: "Bearer \(adminToken)", .contentType: "application/json"]

    @discardableResult
    public func api(_ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, _ body: Any? = nil,
             headers: HTTPFields = ImportFixture.admin, expect status: HTTPResponse.Status? = nil,
             sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any] {
        let data = try body.map { try JSONSerialization.data(withJSONObject: $0) }
        let response = try await client.execute(uri: uri, method: method, headers: headers, body: data.map { ByteBuffer(bytes: $0) })
        if let status { #expect(response.status == status, "\(String(buffer: response.body))", sourceLocation: sourceLocation) }
        return (try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]) ?? [:]
    }

    /// An item for the mock upstream with `key`.
    public func item(_ key: String, _ extra: [String: Any] = [:]) -> [String: Any] {
        var item: [String: Any] = ["base_url": mock.baseURL, "api_key": key]
        for (k, v) in extra { item[k] = v }
        return item
    }

    /// Starts a run (202) and returns its id.
    public func start(_ client: any TestClientProtocol, _ items: [[String: Any]], options: [String: Any] = [:],
               sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        var merged: [String: Any] = ["confirm_delay_s": 0, "retry_window_s": 30]
        for (k, v) in options { merged[k] = v }
        let created = try await api(client, .post, "/api/batch-import/runs", ["items": items, "options": merged], expect: .accepted,
                                    sourceLocation: sourceLocation)
        return try #require(created["run_id"] as? String, sourceLocation: sourceLocation)
    }

    /// Polls the run until it ends; returns it.
    public func finished(_ client: any TestClientProtocol, _ runId: String, timeout: Duration = .seconds(30)) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let run = try await api(client, .get, "/api/batch-import/runs/\(runId)")
            if run["artifact_path"] is String { return run }
            try await Task.sleep(for: .milliseconds(25))
        }
        Issue.record("run \(runId) did not finish in \(timeout)")
        return try await api(client, .get, "/api/batch-import/runs/\(runId)")
    }

    /// Starts a run and waits for it; returns its items by index.
    public func imported(_ client: any TestClientProtocol, _ items: [[String: Any]], options: [String: Any] = [:],
                  sourceLocation: SourceLocation = #_sourceLocation) async throws -> (run: [String: Any], items: [[String: Any]]) {
        let id = try await start(client, items, options: options, sourceLocation: sourceLocation)
        let run = try await finished(client, id)
        let listed = try await api(client, .get, "/api/batch-import/runs/\(id)/items?limit=500")
        return (run, listed["data"] as? [[String: Any]] ?? [])
    }

    public func channels(_ client: any TestClientProtocol) async throws -> [[String: Any]] {
        try await api(client, .get, "/api/channels?limit=500")["data"] as? [[String: Any]] ?? []
    }

    /// The summary.json a finished run points at.
    public func summary(_ run: [String: Any]) throws -> [String: Any] {
        let path = try #require(run["artifact_path"] as? String)
        return try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    /// The summary decoded as the type that wrote it.
    public func typedSummary(_ run: [String: Any]) throws -> ImportSummary {
        let path = try #require(run["artifact_path"] as? String)
        return try JSONDecoder().decode(ImportSummary.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Rows in a table (to prove nothing was stored).
    public func count(_ table: String) async throws -> Int {
        try await db.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? 0 }
    }
}

/// A catalog of one provider, decoded the way `providers/*.json` are.
public func testCatalog(_ json: String) throws -> ProviderCatalog {
    ProviderCatalog([try JSONDecoder().decode(Provider.self, from: Data(json.utf8))])
}
