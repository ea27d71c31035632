import Foundation
import Hummingbird
import Prometheus
import Scheduler
import Store
import Synchronization

/// `GET /health` (no auth) and `GET /metrics` (Prometheus text).
struct HealthController<Context: RequestContext> {
    let driver: any QueueDriver
    /// The gateway's record writer; nil in a worker.
    let writer: RecordWriter?
    let registry: PrometheusCollectorRegistry
    let role: String
    /// This process: `/metrics` names it (`switchyard_process_info`), so a scrape through a load balancer says which
    /// process answered.
    let process: ClusterProcess
    /// Label sets emitted by earlier scrapes, so a state that emptied is reported as 0 rather than frozen.
    let emitted = EmittedLabels()

    func register(on router: Router<Context>) {
        router.get("health", use: health)
        router.get("metrics", use: metrics)
    }

    @Sendable func health(_ request: Request, context: Context) async throws -> Response {
        do {
            var byState = Dictionary(uniqueKeysWithValues: JobState.allCases.map { ($0.rawValue, 0) })
            for count in try await answer(within: .seconds(2), driver.counts) { byState[count.state.rawValue, default: 0] += count.count }
            return try json(HealthView(status: "ok", role: role, database: "ok", queue: byState, error: nil))
        } catch {
            // A gateway relays on while its records fit in the writer's buffer: degraded, still in service.
            if let writer, !writer.isFull {
                return try json(HealthView(status: "degraded", role: role, database: "error", queue: [:], error: "\(error)",
                                           buffered: writer.buffered))
            }
            return try json(HealthView(status: "unavailable", role: role, database: "error", queue: [:], error: "\(error)",
                                       buffered: writer?.buffered), status: .serviceUnavailable)
        }
    }

    @Sendable func metrics(_ request: Request, context: Context) async throws -> Response {
        // Jobs by state and kind come from the database at scrape time, so every process reports the same truth.
        let counts = try await driver.counts()
        var current: [[String]: Int] = [:]
        for count in counts { current[[count.state.rawValue, count.kind, count.queue]] = count.count }
        for labels in emitted.merge(Set(current.keys)) {
            registry.makeGauge(name: "switchyard_jobs", labels: [("state", labels[0]), ("kind", labels[1]), ("queue", labels[2])])
                .set(Double(current[labels] ?? 0))
        }
        registry.makeGauge(name: "switchyard_process_info", labels: [
            ("process_id", process.id), ("role", process.role), ("host", process.host), ("version", process.version),
        ]).set(Double(1))
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
    }
}

/// The body of `GET /health`.
public struct HealthView: Codable, Sendable {
    public var status: String
    public var role: String
    public var database: String
    /// Job counts by state.
    public var queue: [String: Int]
    public var error: String?
    /// Request records waiting for the database (a gateway whose database is away).
    public var buffered: Int?
}

/// The label sets a gauge has been emitted with.
final class EmittedLabels: Sendable {
    private let labels = Mutex<Set<[String]>>([])

    /// Adds `current` and returns every label set seen so far.
    func merge(_ current: Set<[String]>) -> Set<[String]> {
        labels.withLock { $0.formUnion(current); return $0 }
    }
}
