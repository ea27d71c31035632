import Artifacts
import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import Probe
import Prometheus
import Scheduler
import Store
import Wire

/// What the HTTP server needs from the rest of the process.
public struct GatewayOptions: Sendable {
    public var host: String
    public var port: Int
    public var adminToken: String
    /// `all`, `worker` or `gateway`; shown by `/health`.
    public var role: String
    public var relay: RelayOptions
    /// Where artifacts live (`/api/…/artifact`, rollback artifacts).
    public var artifactsDir: String
    /// Whether imports may target loopback and private addresses.
    public var allowPrivateUpstreams: Bool
    /// Connections answered by `DirectHTTPChannel` (true) or by Hummingbird's own `NIOAsyncChannel` handling.
    public var directHTTP = true

    public init(host: String = "127.0.0.1", port: Int = 8080, adminToken: String, role: String = "all", relay: RelayOptions = RelayOptions(),
                artifactsDir: String = "./artifacts", allowPrivateUpstreams: Bool = false) {
        self.host = host
        self.port = port
        self.adminToken = adminToken
        self.role = role
        self.relay = relay
        self.artifactsDir = artifactsDir
        self.allowPrivateUpstreams = allowPrivateUpstreams
    }
}

/// The long-lived parts the gateway shares with the rest of the process.
public struct GatewayDependencies: Sendable {
    public let db: AppDatabase
    public let driver: any QueueDriver
    public let registry: PrometheusCollectorRegistry
    public let secrets: SecretBox
    /// Seals captured payloads; nil disables capture.
    public let payloadBox: SecretBox?
    public let state: GatewayState
    public let writer: RecordWriter
    /// The known providers (`providers/*.json`).
    public let catalog: ProviderCatalog
    /// Batch import runs.
    public let runs: ImportRepository
    /// Reconcile runs.
    public let reconciles: ReconcileRepository
    public let artifacts: ArtifactWriter
    /// Checks artifacts for `/api/artifacts/…/verify` (schema-only unless the caller adds its kinds' checks).
    public let artifactVerifier: ArtifactVerifier
    /// This process in the list of processes sharing the database (`/api/cluster`, `/metrics`).
    public let cluster: ClusterMembership
    let transport: any UpstreamTransport
    /// The control plane's own calls to upstreams (the channel test). A refused connection is an answer there, not
    /// something to retry until the deadline.
    let probeHTTP: HTTPClient

    /// `queue` is the same driver instance the process's workers claim from, so the gateway's enqueues wake them.
    public init(db: AppDatabase, queue: StoreQueue, registry: PrometheusCollectorRegistry, secrets: SecretBox,
                payloadBox: SecretBox?, catalog: ProviderCatalog = ProviderCatalog([]), options: GatewayOptions,
                cluster: ClusterMembership? = nil, artifactVerifier: ArtifactVerifier? = nil, logger: Logger) {
        self.artifactVerifier = artifactVerifier
            ?? ArtifactVerifier(schemaDirs: ArtifactVerifier.defaultSchemaDirs(artifactsDir: options.artifactsDir))
        self.catalog = catalog
        self.cluster = cluster ?? ClusterMembership(
            db: db, process: .current(role: options.role, version: "dev", now: queue.clock.nowMillis()), clock: queue.clock, logger: logger)
        runs = ImportRepository(db: db, queue: queue)
        reconciles = ReconcileRepository(db: db, queue: queue)
        artifacts = ArtifactWriter(root: URL(fileURLWithPath: options.artifactsDir), now: { [clock = queue.clock] in clock.nowMillis() })
        self.db = db
        self.driver = queue
        self.registry = registry
        self.secrets = secrets
        self.payloadBox = payloadBox
        let state = GatewayState(db: db, secrets: secrets, autoDisableAfter: options.relay.autoDisableAfter, logger: logger)
        self.state = state
        writer = RecordWriter(db: db, payloadBox: payloadBox, maxBuffered: options.relay.maxBufferedRecords,
                              autoDisableAfter: state.autoDisableAfter, logger: logger) { records in
            state.addSpend(records)
        }
        let client = AsyncHTTPClientTransport(connectTimeout: options.relay.connectTimeout, readTimeout: options.relay.firstByteTimeout)
        transport = switch options.relay.upstreamClient {
        case .nio: NIOUpstreamTransport(connectTimeout: options.relay.connectTimeout, fallback: client)
        case .ahc: client
        }
        var probeConfiguration = HTTPClient.Configuration()
        probeConfiguration.connectionPool.retryConnectionEstablishment = false
        probeHTTP = HTTPClient(eventLoopGroupProvider: .singleton, configuration: probeConfiguration)
    }

    /// Releases the upstream connection pools.
    public func shutdown() async {
        try? await transport.shutdown()
        try? await probeHTTP.shutdown()
    }
}

/// Builds the HTTP server: the `/v1` and `/anthropic` data plane, `/health`, `/metrics`, the `/api` control plane and the
/// operator console (`/console`).
public enum GatewayApp {
    public static func router(_ deps: GatewayDependencies, options: GatewayOptions) -> Router<GatewayContext> {
        let router = Router(context: GatewayContext.self)
        router.add(middleware: EdgeMiddleware())
        let clock = deps.driver.clock
        HealthController<GatewayContext>(driver: deps.driver, writer: deps.writer, registry: deps.registry, role: options.role,
                                         process: deps.cluster.current).register(on: router)
        RelayController(state: deps.state, transport: deps.transport, writer: deps.writer, options: options.relay, clock: clock,
                        capture: options.relay.capturePayloads && deps.payloadBox != nil, adminToken: Array(options.adminToken.utf8))
            .register(on: router)
        let sessions = ConsoleSessions(db: deps.db, clock: clock)
        ConsoleController<GatewayContext>(sessions: sessions, adminToken: Array(options.adminToken.utf8)).register(on: router)
        let api = router.group("api").add(middleware: AdminAuthMiddleware(token: options.adminToken, sessions: sessions))
            .add(middleware: BodyLimitMiddleware(maxBytes: options.relay.maxBodyBytes))
        JobsController<GatewayContext>(driver: deps.driver).register(on: api)
        ClusterController(cluster: deps.cluster).register(on: api)
        ChannelsController(db: deps.db, secrets: deps.secrets, state: deps.state, probe: ProbeClient(client: deps.probeHTTP, timeout: .seconds(30)),
                           runs: deps.runs, clock: clock)
            .register(on: api)
        ImportController(runs: deps.runs, secrets: deps.secrets, catalog: deps.catalog, artifacts: deps.artifacts, state: deps.state,
                         allowPrivate: options.allowPrivateUpstreams, maxBodyBytes: options.relay.maxBodyBytes).register(on: api)
        ReconcileController(runs: deps.reconciles).register(on: api)
        AccountsController(db: deps.db, state: deps.state, clock: clock).register(on: api)
        NodesController(db: deps.db, secrets: deps.secrets, state: deps.state, clock: clock).register(on: api)
        TracesController(db: deps.db, payloadBox: deps.payloadBox, clock: clock).register(on: api)
        ArtifactsController(reader: ArtifactReader(root: URL(fileURLWithPath: options.artifactsDir)), verifier: deps.artifactVerifier)
            .register(on: api)
        let catalog = deps.catalog
        api.get("providers") { _, _ -> Response in
            try json(PageView(data: catalog.providers.values.sorted { $0.name < $1.name }, nextCursor: nil))
        }
        // Unknown paths under /api answer problem JSON too (after auth, so they reveal nothing).
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
            api.on("**", method: method) { _, _ -> Response in throw Problem(.notFound, "no such endpoint") }
        }
        return router
    }

    /// How connections are answered: `DirectHTTPChannel`, or Hummingbird's stock HTTP/1 handling.
    public static func server<Responder: HTTPResponder>(_ responder: Responder, options: GatewayOptions) -> HTTPServerBuilder
    where Responder.Context == GatewayContext {
        guard options.directHTTP else { return .http1() }
        let direct = DirectHTTPChannel(serverName: "switchyard", maxBodyBytes: options.relay.maxBodyBytes) { request, channel, logger in
            try await responder.respond(to: request, context: GatewayContext(source: ApplicationRequestContextSource(channel: channel, logger: logger)))
        }
        return HTTPServerBuilder { _ in direct }
    }

    /// The HTTP server; `onListening` gets the port it bound (useful with port 0).
    public static func application(_ deps: GatewayDependencies, options: GatewayOptions, logger: Logger,
                                   onListening: @escaping @Sendable (Int) -> Void = { _ in }) -> some ApplicationProtocol {
        let responder = router(deps, options: options).buildResponder()
        return Application(
            responder: responder,
            server: server(responder, options: options),
            configuration: ApplicationConfiguration(address: .hostname(options.host, port: options.port), serverName: "switchyard"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? options.port) },
            logger: logger)
    }
}

extension GatewayApp {
    /// Runs Swift concurrency's global executor on NIO's event loops (call once, at the start of `serve`).
    /// Each relayed request otherwise crosses between the cooperative pool and the event loops several times
    /// (request body, upstream head, upstream body, response write), each a thread switch. Work that may block
    /// already has threads of its own: job handlers (`BackgroundExecutor`), GRDB's queues, probes' event loop.
    /// Returns false when the hook could not be installed (the default executor stays).
    @discardableResult
    public static func runTasksOnEventLoops() -> Bool {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }

    /// Runs `body` (the daemon's services) preferring the event loops as task executor when `onEventLoops` (the loops
    /// are the global executor). Installed as the global executor alone, a loop is a serial executor: every call of a
    /// nonisolated async function re-enqueues the task on that loop, so a library that holds a lock across such a
    /// call deadlocks the loop's only thread as soon as another job on it takes the same lock. swift-async-algorithms'
    /// `merge` (Hummingbird's date cache uses it) holds one across `withUnsafeThrowingContinuation`; a gateway hung
    /// on SIGTERM with a loop blocked in it. Under a task-executor preference those calls do not re-enqueue.
    public static func withServices<T>(onEventLoops: Bool, _ body: () async throws -> T) async throws -> T {
        try await withTaskExecutorPreference(onEventLoops ? EventLoopGroupTaskExecutor.singleton : nil, operation: body)
    }
}

extension GatewayApp {
    /// Runs file I/O, and CPU work of many milliseconds (preparing a large import), on NIO's blocking pool: with
    /// tasks on the event loops, a handler that did either in place would hold up every connection of its loop.
    static func offEventLoop<T: Sendable>(_ body: @Sendable @escaping () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(body)
    }
}
