import AsyncHTTPClient
import Crypto
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MockUpstream
import NIOCore
import Probe
import Prometheus
import Scheduler
import ServiceLifecycle
@_spi(Engine) import Store
import Synchronization
import Testing

/// A gateway on a fresh database with a user, a key and the mock upstream as its channels.
public final class RelayFixture: @unchecked Sendable {  // set up once, then read by the test only
    public let store: TestStore
    public var dir: String { store.dir }
    public var db: AppDatabase { store.db }
    public let deps: GatewayDependencies
    public let options: GatewayOptions
    public let app: Application<RouterResponder<GatewayContext>>
    public let mock: RunningMockUpstream
    public static let adminToken = "sya_admin_test_token"
    public static let upstreamKey = "sk-upstream-SECRET-0123456789abcdef"
    public var clientKey = ""
    public var userId: Int64 = 0
    public var keyId: Int64 = 0

    /// `directHTTP`: connections answered by `DirectHTTPChannel` instead of Hummingbird's own handling; `mockStyle`:
    /// how the mock upstream writes its JSON and events.
    public init(_ engine: Engine = .sqlite, relay: RelayOptions = RelayOptions(autoDisableAfter: 3), payloadBox: SecretBox? = nil,
         catalog: ProviderCatalog = ProviderCatalog([]), directHTTP: Bool = true, mockStyle: MockStyle = .compact,
         mockPort: Int = 0) async throws {
        // The mock first: a fixture that fails to start must not drop a gateway whose HTTP client was never shut down.
        mock = try await RunningMockUpstream.start(script: MockScript(style: mockStyle), port: mockPort)
        store = try await TestStore(engine)
        let dir = store.dir
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        var options = GatewayOptions(adminToken: Self.adminToken, relay: relay, artifactsDir: dir + "/artifacts")
        options.directHTTP = directHTTP
        self.options = options
        deps = GatewayDependencies(
            db: store.db, queue: store.queue, registry: PrometheusCollectorRegistry(),
            secrets: SecretBox(key: SymmetricKey(size: .bits256)), payloadBox: payloadBox, catalog: catalog,
            options: options, logger: logger)
        app = GatewayApp.testApplication(deps, options: options)
    }

    /// Runs `body` with a client of the gateway (its HTTP server on loopback, as are the upstream calls).
    public func test(_ body: @Sendable @escaping (any TestClientProtocol) async throws -> Void) async throws {
        do {
            try await app.test(.live) { client in try await body(client) }
        } catch {
            await deps.shutdown()
            throw error
        }
        await deps.shutdown()
    }

    // MARK: Setup through the control plane

    public static let admin: HTTPFields = [.authorization: "Bearer \(adminToken)", .contentType: "application/json"]

    @discardableResult
    public func api(_ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, _ body: [String: Any]? = nil,
             expect status: HTTPResponse.Status? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any] {
        let data = try body.map { try JSONSerialization.data(withJSONObject: $0) }
        let response = try await client.execute(uri: uri, method: method, headers: Self.admin, body: data.map { ByteBuffer(bytes: $0) })
        if let status { #expect(response.status == status, "\(String(buffer: response.body))", sourceLocation: sourceLocation) }
        return (try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]) ?? [:]
    }

    /// A user with quota, a key, and one channel per entry of `channels` pointing at the mock.
    public func setUp(_ client: any TestClientProtocol, channels: [[String: Any]] = [[:]], userQuota: Int64? = nil,
               keyQuota: Int64? = nil, keyModels: [String]? = nil) async throws -> [Int64] {
        var user: [String: Any] = ["name": "alice"]
        if let userQuota { user["quota"] = userQuota }
        userId = try await api(client, .post, "/api/users", user, expect: .created)["id"] as! Int64
        var key: [String: Any] = ["user_id": userId, "name": "k1"]
        if let keyQuota { key["quota"] = keyQuota }
        if let keyModels { key["models"] = keyModels }
        let created = try await api(client, .post, "/api/keys", key, expect: .created)
        clientKey = created["key"] as! String
        keyId = created["id"] as! Int64
        var ids: [Int64] = []
        for (index, overrides) in channels.enumerated() {
            var channel: [String: Any] = ["name": "ch\(index)", "type": "openai", "base_url": mock.baseURL, "api_key": Self.upstreamKey,
                                          "models": ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small"]]
            for (k, v) in overrides { channel[k] = v }
            ids.append(try await api(client, .post, "/api/channels", channel, expect: .created)["id"] as! Int64)
        }
        return ids
    }

    public var clientHeaders: HTTPFields { [.authorization: "Bearer \(clientKey)", .contentType: "application/json"] }

    public func post(_ client: any TestClientProtocol, _ uri: String, _ body: [String: Any], headers: HTTPFields? = nil) async throws -> TestResponse {
        let data = try JSONSerialization.data(withJSONObject: body)
        return try await client.execute(uri: uri, method: .post, headers: headers ?? clientHeaders, body: ByteBuffer(bytes: data))
    }

    /// Writes queued records now and returns every usage log and trace.
    public func flushed() async throws -> (usage: [UsageLog], traces: [Trace]) {
        try await deps.writer.flush()
        return try await db.read { db in (try UsageLog.fetchAll(db), try Trace.fetchAll(db)) }
    }
}

public func chatBody(model: String = "gpt-4o-mini", stream: Bool = false, includeUsage: Bool? = nil) -> [String: Any] {
    var body: [String: Any] = ["model": model, "messages": [["role": "user", "content": "Say hello"]]]
    if stream { body["stream"] = true }
    if let includeUsage { body["stream_options"] = ["include_usage": includeUsage] }
    return body
}

public func jsonObject(_ response: TestResponse) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]) ?? [:]
}

extension GatewayApp {
    /// The gateway's router and connection handling (`options.directHTTP` picks which), as `application` builds
    /// them, for tests that drive it over real loopback HTTP.
    public static func testApplication(_ deps: GatewayDependencies, options: GatewayOptions) -> Application<RouterResponder<GatewayContext>> {
        let responder = router(deps, options: options).buildResponder()
        return Application(responder: responder, server: server(responder, options: options))
    }
}
