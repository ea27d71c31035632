import Foundation
import Hummingbird
import Scheduler
import Store

/// `/api/traces`, `/api/usage` and the audited payload read.
struct TracesController {
    let db: AppDatabase
    let payloadBox: SecretBox?
    let clock: any WallClock

    func register(on group: RouterGroup<GatewayContext>) {
        group.get("traces", use: traces)
        group.get("traces/:id", use: trace)
        group.post("traces/:id/payload", use: payload)
        group.get("usage", use: usage)
        group.get("stats", use: stats)
    }

    /// `GET /api/stats?window=hour|day|week`: the dashboards' series and totals, read from the rollups the record
    /// writer keeps (never from the traces).
    @Sendable func stats(_ request: Request, context: GatewayContext) async throws -> Response {
        let raw = request.uri.queryParameters["window"].map(String.init) ?? "hour"
        guard let window = AppDatabase.StatsWindow(rawValue: raw) else {
            throw Problem(.badRequest, "window must be one of hour, day, week")
        }
        return try json(try await db.stats(window, now: clock.nowMillis()))
    }

    @Sendable func traces(_ request: Request, context: GatewayContext) async throws -> Response {
        let page = try PageRequest(request)
        let query = request.uri.queryParameters
        var filter = TraceFilter()
        filter.keyId = try Self.integer(query["key_id"], "key_id")
        filter.channelId = try Self.integer(query["channel_id"], "channel_id")
        filter.userId = try Self.integer(query["user_id"], "user_id")
        filter.status = try Self.integer(query["status"], "status")
        filter.model = query["model"].map(String.init)
        filter.stream = try Self.flag(query["stream"], "stream")
        filter.billed = try Self.flag(query["billed"], "billed")
        filter.since = query["since"].flatMap { Int64($0) }
        filter.until = query["until"].flatMap { Int64($0) }
        let (items, next) = page.page(try await db.traces(filter, page.store)) { $0.id! }
        return try json(PageView(data: items, nextCursor: next))
    }

    /// An integer query parameter; nil when absent.
    private static func integer(_ raw: Substring?, _ name: String) throws -> Int64? {
        guard let raw else { return nil }
        guard let value = Int64(raw) else { throw Problem(.badRequest, "\(name) must be an integer") }
        return value
    }

    /// A `true`/`false` query parameter; nil when absent.
    private static func flag(_ raw: Substring?, _ name: String) throws -> Bool? {
        switch raw {
        case nil: nil
        case "true": true
        case "false": false
        default: throw Problem(.badRequest, "\(name) must be true or false")
        }
    }

    @Sendable func trace(_ request: Request, context: GatewayContext) async throws -> Response {
        let id = try idParameter(context)
        guard let trace = try await db.trace(id) else { throw Problem(.notFound, "trace \(id) not found") }
        return try json(trace)
    }

    /// Sums of tokens and cost per user, model and UTC day.
    @Sendable func usage(_ request: Request, context: GatewayContext) async throws -> Response {
        let query = request.uri.queryParameters
        let days = try await db.usageByDay(userId: try Self.integer(query["user_id"], "user_id"),
                                           since: query["since"].flatMap { Int64($0) }, until: query["until"].flatMap { Int64($0) })
        return try json(["data": days])
    }

    struct PayloadRequest: Decodable { var reason: String? }

    /// Opens a captured payload: needs a reason, and leaves an audit row (who, when, why).
    @Sendable func payload(_ request: Request, context: GatewayContext) async throws -> Response {
        let id = try idParameter(context)
        let input = try await request.decode(as: PayloadRequest.self, context: context)
        guard let reason = input.reason?.trimmingCharacters(in: .whitespaces), !reason.isEmpty else {
            throw Problem(.unprocessableContent, "a reason is required to read a payload")
        }
        guard let box = payloadBox else { throw Problem(.notFound, "payload capture is not configured (SWITCHYARD_PAYLOAD_KEY)") }
        let now = clock.nowMillis()
        let stored = try await db.auditedPayload(traceId: id, actor: "admin", reason: reason, at: now)
        guard let stored else { throw Problem(.notFound, "no payload captured for trace \(id)") }
        let requestText = try stored.requestSealed.map { String(decoding: try box.open($0), as: UTF8.self) }
        let responseText = try stored.responseSealed.map { String(decoding: try box.open($0), as: UTF8.self) }
        return jsonResponse(.ok, [
            "trace_id": id, "request": requestText.map { $0 as Any } ?? NSNull(), "response": responseText.map { $0 as Any } ?? NSNull(),
            "request_truncated": stored.requestTruncated, "response_truncated": stored.responseTruncated,
        ])
    }
}
