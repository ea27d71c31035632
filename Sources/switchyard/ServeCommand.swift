import ArgumentParser
import Artifacts
import Foundation
import Gateway
import Jobs
import Logging
import NIOCore
import Probe
import PostgresNIO
import Prometheus
import Scheduler
import ServiceLifecycle
import Store

/// `switchyard serve`: workers and the HTTP server in one process, stopped cleanly by SIGTERM or SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the daemon (workers + HTTP server).")

    enum Role: String, ExpressibleByArgument, CaseIterable { case all, worker, gateway }
    /// How connections are answered.
    enum HTTPServer: String, ExpressibleByArgument, CaseIterable { case direct, hummingbird }
    /// Where a process that serves HTTP runs its Swift tasks.
    enum Executor: String, ExpressibleByArgument, CaseIterable { case eventloops, pool }

    @Option(help: "What this process runs: all, worker or gateway (env SWITCHYARD_ROLE).")
    var role: Role = Role(rawValue: Env.string("SWITCHYARD_ROLE", "all")) ?? .all

    @Option(help: "Address to listen on (env SWITCHYARD_HOST).")
    var host: String = Env.string("SWITCHYARD_HOST", "127.0.0.1")

    @Option(help: "Port to listen on; 0 takes any free port, named in the start-up log (env SWITCHYARD_PORT).")
    var port: Int = Env.int("SWITCHYARD_PORT", 8080)

    @OptionGroup var engine: EngineOptions

    @Option(help: "Where jobs write acceptance artifacts (env SWITCHYARD_ARTIFACTS_DIR).")
    var artifactsDir: String = Env.string("SWITCHYARD_ARTIFACTS_DIR", "./artifacts")

    @Option(name: .customLong("queue"), help: "A worker pool as name=concurrency; repeatable (env SWITCHYARD_QUEUES, comma-separated).")
    var queues: [String] = Env.string("SWITCHYARD_QUEUES", "default=10,maintenance=2,import=16").split(separator: ",").map(String.init)

    @Option(help: "Seconds a claimed job is held without a heartbeat (env SWITCHYARD_LEASE_TTL).")
    var leaseTTL: Double = Env.double("SWITCHYARD_LEASE_TTL", 30)

    @Option(help: "Seconds running jobs get to finish on shutdown before they are released (env SWITCHYARD_DRAIN_TIMEOUT).")
    var drainTimeout: Double = Env.double("SWITCHYARD_DRAIN_TIMEOUT", 10)

    @Option(help: "Milliseconds between looks for work enqueued by other processes (env SWITCHYARD_POLL_MS).")
    var pollMs: Int = Env.int("SWITCHYARD_POLL_MS", 50)

    @Option(help: "Milliseconds between rescue and periodic-schedule passes (env SWITCHYARD_TICK_MS).")
    var tickMs: Int = Env.int("SWITCHYARD_TICK_MS", 1000)

    @Option(help: "Largest request body accepted by /v1 and /anthropic, in bytes (env SWITCHYARD_MAX_BODY_BYTES).")
    var maxBodyBytes: Int = Env.int("SWITCHYARD_MAX_BODY_BYTES", 8 << 20)

    @Option(help: "Consecutive failures that auto-disable a channel, at least 2 (env SWITCHYARD_AUTO_DISABLE_AFTER).")
    var autoDisableAfter: Int = Env.int("SWITCHYARD_AUTO_DISABLE_AFTER", 5)

    @Option(help: "Channels tried for one request before 502 (env SWITCHYARD_MAX_ATTEMPTS).")
    var maxAttempts: Int = Env.int("SWITCHYARD_MAX_ATTEMPTS", 3)

    @Option(help: "Seconds to wait for an upstream's first byte (env SWITCHYARD_FIRST_BYTE_TIMEOUT).")
    var firstByteTimeout: Double = Env.double("SWITCHYARD_FIRST_BYTE_TIMEOUT", 120)

    @Flag(help: "Capture request/response bodies, sealed with SWITCHYARD_PAYLOAD_KEY (env SWITCHYARD_CAPTURE_PAYLOADS=1).")
    var capturePayloads = Env.string("SWITCHYARD_CAPTURE_PAYLOADS", "0") == "1"

    @Option(help: "Each captured body is cut at this many bytes (env SWITCHYARD_MAX_PAYLOAD_BYTES).")
    var maxPayloadBytes: Int = Env.int("SWITCHYARD_MAX_PAYLOAD_BYTES", 64 << 10)

    @Option(help: "Days a captured payload is kept before payloads.purge deletes it (env SWITCHYARD_PAYLOAD_RETENTION_DAYS).")
    var payloadRetentionDays: Double = Env.double("SWITCHYARD_PAYLOAD_RETENTION_DAYS", 7)

    @Option(help: "Days a request trace is kept before payloads.purge deletes it (env SWITCHYARD_TRACE_RETENTION_DAYS).")
    var traceRetentionDays: Double = Env.double("SWITCHYARD_TRACE_RETENTION_DAYS", 30)

    @Option(help: "Seconds an upstream exchange may take in all, streams included (env SWITCHYARD_TOTAL_TIMEOUT).")
    var totalTimeout: Double = Env.double("SWITCHYARD_TOTAL_TIMEOUT", 600)

    @Option(help: "Upstream HTTP client: nio (pooled, on the inbound event loop; HTTPS via AsyncHTTPClient) or ahc (env SWITCHYARD_UPSTREAM_CLIENT).")
    var upstreamClient: RelayOptions.UpstreamClient = RelayOptions.UpstreamClient(rawValue: Env.string("SWITCHYARD_UPSTREAM_CLIENT", "nio")) ?? .nio

    @Option(help: "How connections are answered: direct (the gateway's own HTTP/1.1 channel handler) or hummingbird (Hummingbird's stock HTTP/1 handling) (env SWITCHYARD_HTTP_SERVER).")
    var httpServer: HTTPServer = HTTPServer(rawValue: Env.string("SWITCHYARD_HTTP_SERVER", "direct")) ?? .direct

    @Option(help: "Where a serving process runs its Swift tasks: eventloops (SwiftNIO's event loops, no thread switch at each await of a request) or pool (Swift's cooperative thread pool) (env SWITCHYARD_EXECUTOR).")
    var executor: Executor = Executor(rawValue: Env.string("SWITCHYARD_EXECUTOR", "eventloops")) ?? .eventloops

    @Option(help: "Request records a gateway keeps in memory while its database is unreachable; when full, requests get 503 until it is back (env SWITCHYARD_MAX_BUFFERED_RECORDS).")
    var maxBufferedRecords: Int = Env.int("SWITCHYARD_MAX_BUFFERED_RECORDS", 100_000)

    @Option(help: "Directory of provider catalog files, *.json (env SWITCHYARD_PROVIDERS_DIR).")
    var providersDir: String = Env.string("SWITCHYARD_PROVIDERS_DIR", "./providers")

    @Flag(help: "Let batch imports target loopback and private addresses (env SWITCHYARD_ALLOW_PRIVATE_UPSTREAMS=1).")
    var allowPrivateUpstreams = Env.string("SWITCHYARD_ALLOW_PRIVATE_UPSTREAMS", "0") == "1"

    @Option(help: "The gateway import confirmations go through; default: this process's own server (env SWITCHYARD_GATEWAY_URL).")
    var gatewayURL: String? = Env.optional("SWITCHYARD_GATEWAY_URL")

    @Option(help: "Failed health checks in a row that make an exit node unhealthy (env SWITCHYARD_NODE_UNHEALTHY_AFTER).")
    var nodeUnhealthyAfter: Int = Env.int("SWITCHYARD_NODE_UNHEALTHY_AFTER", 3)

    @Option(help: "Seconds between this process's heartbeats in the cluster list; dead after 3 missed (env SWITCHYARD_CLUSTER_HEARTBEAT).")
    var clusterHeartbeat: Double = ClusterCommand.heartbeatSeconds

    @Option(help: "trace, debug, info, notice, warning, error or critical (env SWITCHYARD_LOG_LEVEL).")
    var logLevel: Logger.Level = Logger.Level(rawValue: Env.string("SWITCHYARD_LOG_LEVEL", "info")) ?? .info

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0 to 65535 (0: any free port)") }
        guard leaseTTL >= 1 else { throw ValidationError("--lease-ttl must be at least 1 second") }
        guard autoDisableAfter >= 2 else { throw ValidationError("--auto-disable-after must be at least 2") }
        guard payloadRetentionDays > 0, traceRetentionDays > 0 else {
            throw ValidationError("--payload-retention-days and --trace-retention-days must be positive")
        }
        guard clusterHeartbeat >= 0.1 else { throw ValidationError("--cluster-heartbeat must be at least 0.1 seconds") }
        guard maxBufferedRecords > 0 else { throw ValidationError("--max-buffered-records must be positive") }
        guard maxBodyBytes > 0, maxAttempts > 0, firstByteTimeout > 0, totalTimeout > 0 else {
            throw ValidationError("--max-body-bytes, --max-attempts and --first-byte-timeout must be positive")
        }
        _ = try parsedQueues()
    }

    func parsedQueues() throws -> [(name: String, concurrency: Int)] {
        try queues.map { spec in
            let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, let concurrency = Int(parts[1]), concurrency > 0 else {
                throw ValidationError("--queue takes name=concurrency, got \(spec)")
            }
            return (parts[0], concurrency)
        }
    }

    func run() async throws {
        // A process that serves requests runs its tasks on the event loops, so a relayed request does not switch
        // threads at every await (`--executor pool` keeps Swift's cooperative pool).
        let onEventLoops = role != .worker && executor == .eventloops && GatewayApp.runTasksOnEventLoops()
        let logger = makeLogger("switchyard", level: logLevel)
        // Trapped before anything slow starts, so SIGTERM during start-up stops the daemon cleanly too.
        let signals = await ShutdownSignals.trap(logger: logger)
        // Probes of upstreams and nodes: their own low-priority thread, off the gateway's event loops.
        let background = BackgroundHTTPClient()
        var gateway: GatewayDependencies?
        var store: Storage.Opened?
        do {
            try await GatewayApp.withServices(onEventLoops: onEventLoops) { try await signals.listening {
                let services: [any Service]
                // Beside a gateway, database work (jobs, the record writer) runs below the event loops serving requests.
                let opened = try await Storage.open(engine, qos: role == .all ? .background : .userInitiated, logger: logger)
                store = opened
                (services, gateway) = try await makeServices(opened, logger: logger, background: background)
                if signals.requested {
                    logger.info("stopped during start-up")
                    return
                }
                let group = ServiceGroup(configuration: ServiceGroupConfiguration(
                    services: ParentWatch.configurations(services), logger: logger))
                await signals.attach(group)
                try await group.run()
            } }
        } catch {
            // Every client and event-loop group is shut down on this path too: one left behind traps in its deinit
            // (a debug build's "Client not shut down before the deinit") and the message below would be lost.
            await gateway?.shutdown()
            await background.shutdown()
            await store?.close()
            printError("switchyard: error: \(describeFailure(error))")
            throw ExitCode(1)
        }
        await gateway?.shutdown()
        await background.shutdown()
        await store?.close()
        logger.info("stopped cleanly")
    }

    /// One line for a failure of `serve`; a bind error names the address (the HTTP server can still lose a race
    /// for the port after `ListenCheck`).
    private func describeFailure(_ error: any Error) -> String {
        if let io = error as? IOError, "\(io)".contains("bind") { return ListenCheck.message(host: host, port: port, error: io) }
        if error is PSQLError { return "PostgreSQL: " + PostgresErrorText.describe(error) }
        return ConnectionErrorText.describe(error)
    }

    /// The provider catalog; a missing directory is an empty catalog (with a warning), a broken file an error.
    private func loadCatalog(logger: Logger) throws -> ProviderCatalog {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: providersDir, isDirectory: &isDirectory), isDirectory.boolValue else {
            logger.warning("no provider catalog; imports will use what they probe", metadata: ["providers_dir": "\(providersDir)"])
            return ProviderCatalog([])
        }
        let catalog = try ProviderCatalog.load(directory: URL(fileURLWithPath: providersDir))
        logger.info("provider catalog loaded", metadata: ["providers": "\(catalog.providers.count)"])
        return catalog
    }

    /// Opens everything that can fail at start, so a bad data dir is reported before anything runs.
    private func makeServices(_ store: Storage.Opened, logger: Logger, background: BackgroundHTTPClient) async throws
        -> ([any Service], GatewayDependencies?) {
        let (db, driver) = (store.db, store.driver)
        try AppDatabase.ensureWritableDirectory(artifactsDir)
        // A bad database is reported first, then a taken port, before any service starts: not found by the HTTP
        // server's bind after the worker pools have begun claiming jobs.
        if role != .worker { try await ListenCheck.ensureAvailable(host: host, port: port) }
        logger.info("database ready", metadata: store.metadata)
        let registry = PrometheusCollectorRegistry()
        let metrics = QueueMetrics(factory: PrometheusMetricsFactory(registry: registry))
        var services: [any Service] = ParentWatch.enabled ? [ParentWatch()] : []
        // This process joins the list of processes sharing the database now, and leaves it last on a clean stop.
        let membership = ClusterMembership(
            db: db, process: .current(role: role.rawValue, version: Switchyard.version, now: driver.clock.nowMillis()),
            interval: .milliseconds(Int64(clusterHeartbeat * 1000)), clock: driver.clock, logger: logger)
        try await membership.beat()
        logger.info("joined the cluster", metadata: ["process_id": "\(membership.current.id)"])
        services.append(membership)
        let secrets = try SecretBox.load(environment: Env.optional("SWITCHYARD_SECRET_KEY"), dataDir: engine.sqlite.dataDir)
        let token = try AdminToken.load(environment: Env.optional("SWITCHYARD_ADMIN_TOKEN"), dataDir: engine.sqlite.dataDir)
        let catalog = try loadCatalog(logger: logger)
        // Import confirmations go through a gateway: this process's own once it listens, or --gateway-url.
        let endpoint = GatewayEndpoint(url: gatewayURL ?? (role == .worker && port != 0 ? "http://127.0.0.1:\(port)" : nil),
                                       adminToken: token.value)
        // Reconcile fixes reach this process's gateway at once (others within the refresher's interval).
        let changed = ChangeHook()
        if role != .gateway {
            let artifacts = ArtifactWriter(root: URL(fileURLWithPath: artifactsDir), now: { [clock = driver.clock] in clock.nowMillis() })
            var jobs = BuiltinJobs.registry(driver: driver, db: db, artifacts: artifacts)
            let imports = ImportEnvironment(
                runs: ImportRepository(db: db, queue: driver), secrets: secrets, catalog: catalog,
                probe: ProbeClient(client: background.client), gateway: endpoint, artifacts: artifacts, allowPrivate: allowPrivateUpstreams)
            for handler in imports.handlers { jobs.register(handler) }
            jobs.register(NodesProbeJob(db: db, secrets: secrets, nodeProbe: NodeProbe(client: background.client),
                                        probe: ProbeClient(client: background.client, timeout: .seconds(15)), artifacts: artifacts,
                                        clock: driver.clock, unhealthyAfter: nodeUnhealthyAfter))
            let reconcile = ReconcileEnvironment(
                runs: ReconcileRepository(db: db, queue: driver), secrets: secrets, catalog: catalog, artifacts: artifacts, changed: changed)
            for handler in reconcile.handlers { jobs.register(handler) }
            // On PostgreSQL, enqueues by any process wake this one's idle workers through LISTEN/NOTIFY.
            if let postgres = store.postgres { services.append(PostgresJobListener(queue: postgres)) }
            services.append(QueueMaintenance(
                driver: driver, schedules: BuiltinJobs.schedules, tick: .milliseconds(tickMs), logger: logger))
            let pools = try parsedQueues()
            let jobExecutor = BackgroundExecutor(threads: 2)
            if !pools.contains(where: { $0.name == ImportJobs.queue }) {
                logger.warning("no worker pool for the import queue; batch imports will wait", metadata: ["add": "--queue import=16"])
            }
            for (name, concurrency) in pools {
                let options = WorkerOptions(
                    queue: name, concurrency: concurrency, leaseTTL: .milliseconds(Int64(leaseTTL * 1000)),
                    pollInterval: .milliseconds(pollMs), drainTimeout: .milliseconds(Int64(drainTimeout * 1000)),
                    // Beside a gateway, jobs run on low-priority threads of their own and yield to its requests.
                    priority: role == .all ? .background : nil, executor: role == .all ? jobExecutor : nil)
                services.append(WorkerPool(driver: driver, registry: jobs, options: options, logger: logger, metrics: metrics))
            }
        }
        var gateway: GatewayDependencies?
        if role != .worker {
            let payloadBox = try Env.optional("SWITCHYARD_PAYLOAD_KEY").map { try SecretBox(base64: $0, name: "SWITCHYARD_PAYLOAD_KEY") }
            if capturePayloads && payloadBox == nil {
                throw StoreError.invalid("--capture-payloads needs SWITCHYARD_PAYLOAD_KEY (32 bytes, base64)")
            }
            switch (token.path, token.generated) {
            case (nil, _): printNow("admin token: from SWITCHYARD_ADMIN_TOKEN")
            case (let path?, true): printNow("admin token: generated into \(path) (mode 0600)")
            case (let path?, false): printNow("admin token: read from \(path)")
            }
            var relay = RelayOptions(
                maxBodyBytes: maxBodyBytes, firstByteTimeout: .milliseconds(Int64(firstByteTimeout * 1000)),
                totalTimeout: .milliseconds(Int64(totalTimeout * 1000)),
                maxAttempts: maxAttempts, autoDisableAfter: autoDisableAfter, capturePayloads: capturePayloads,
                maxPayloadBytes: maxPayloadBytes, payloadRetention: .milliseconds(Int64(payloadRetentionDays * 86_400_000)),
                upstreamClient: upstreamClient)
            relay.traceRetention = .milliseconds(Int64(traceRetentionDays * 86_400_000))
            relay.maxBufferedRecords = maxBufferedRecords
            var options = GatewayOptions(host: host, port: port, adminToken: token.value, role: role.rawValue, relay: relay,
                                         artifactsDir: artifactsDir, allowPrivateUpstreams: allowPrivateUpstreams)
            // Connections are answered by DirectHTTPChannel unless `--http-server hummingbird` asks for Hummingbird's own handling.
            options.directHTTP = httpServer == .direct
            let deps = GatewayDependencies(db: db, queue: driver, registry: registry, secrets: secrets, payloadBox: payloadBox,
                                           catalog: catalog, options: options, cluster: membership,
                                           artifactVerifier: ImportSummary.verifier(schemaDirs: ArtifactVerifier.defaultSchemaDirs(artifactsDir: artifactsDir)),
                                           logger: logger)
            do {
                try await deps.state.reload()
            } catch {
                await deps.shutdown()  // its upstream HTTP client traps if dropped unshut
                throw error
            }
            changed.set { [state = deps.state] in try? await state.reload() }
            gateway = deps
            // The writer stops after the HTTP server, so records of requests finished while draining are written.
            services.append(deps.writer)
            services.append(GatewayStateRefresher(state: deps.state))
            // The HTTP server goes last: it starts after the workers and stops before them.
            let explicitURL = gatewayURL != nil
            let connectHost = host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host
            services.append(GatewayApp.application(deps, options: options, logger: logger) { bound in
                let address = "http://\(connectHost.contains(":") ? "[\(connectHost)]" : connectHost):\(bound)"
                membership.setAddress(address)
                if !explicitURL { endpoint.set(address) }
            })
        }
        return (services, gateway)
    }
}

extension RelayOptions.UpstreamClient: ExpressibleByArgument {}
