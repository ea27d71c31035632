import Hummingbird
import Logging
import Prometheus
import Scheduler

/// What the HTTP server needs from the rest of the process.
public struct GatewayOptions: Sendable {
    public var host: String
    public var port: Int
    public var adminToken: String
    /// `all`, `worker` or `gateway`; shown by `/health`.
    public var role: String

    public init(host: String = "127.0.0.1", port: Int = 8080, adminToken: String, role: String = "all") {
        self.host = host
        self.port = port
        self.adminToken = adminToken
        self.role = role
    }
}

/// Builds the HTTP server: `/health`, `/metrics` and the `/api` control plane.
public enum GatewayApp {
    public static func router(driver: any QueueDriver, registry: PrometheusCollectorRegistry, options: GatewayOptions) -> Router<BasicRequestContext> {
        let router = Router()
        HealthController(driver: driver, registry: registry, role: options.role).register(on: router)
        let api = router.group("api")
            .add(middleware: ProblemMiddleware())
            .add(middleware: AdminAuthMiddleware(token: options.adminToken))
        JobsController(driver: driver).register(on: api)
        // Unknown paths under /api answer problem JSON too (after auth, so they reveal nothing).
        api.on("**", method: .get) { _, _ -> Response in throw Problem(.notFound, "no such endpoint") }
        api.on("**", method: .post) { _, _ -> Response in throw Problem(.notFound, "no such endpoint") }
        return router
    }

    public static func application(
        driver: any QueueDriver, registry: PrometheusCollectorRegistry, options: GatewayOptions, logger: Logger
    ) -> some ApplicationProtocol {
        Application(
            router: router(driver: driver, registry: registry, options: options),
            configuration: ApplicationConfiguration(address: .hostname(options.host, port: options.port), serverName: "switchyard"),
            logger: logger)
    }
}
