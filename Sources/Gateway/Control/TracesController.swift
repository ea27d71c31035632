import Foundation
import GRDB
import Hummingbird
import Scheduler
import Store

/// `/api/traces`, `/api/usage` and the audited payload read.
struct TracesController {
    let db: AppDatabase
    let payloadBox: SecretBox?
    let clock: any JobClock

    func register(on group: RouterGroup<GatewayContext>) {
        group.get("traces", use: traces)
        group.get("traces/:id", use: trace)
        group.post("traces/:id/payload", use: payload)
        group.get("usage", use: usage)
    }

    @Sendable func traces(_ request: Request, context: GatewayContext) async throws -> Response {
        let page = try PageRequest(request)
        let query = request.uri.queryParameters
        var filters: [SQLExpression] = []
        for name in ["key_id", "channel_id", "user_id", "status"] {
            if let raw = query[Substring(name)] {
                guard let value = Int64(raw) else { throw Problem(.badRequest, "\(name) must be an integer") }
                filters.append(Column(name) == value)
            }
        }
        if let model = query["model"] { filters.append(Column("model") == String(model)) }
        if let stream = try Self.flag(query["stream"], "stream") { filters.append(Column("stream") == stream) }
        if let billed = try Self.flag(query["billed"], "billed") {
            // Billed: a user's request that left token counts (every usage log does: its prompt is at least estimated).
            let expression = Column("user_id") != nil && (Column("prompt_tokens") > 0 || Column("completion_tokens") > 0)
            filters.append(billed ? expression : !expression)
        }
        if let since = query["since"].flatMap({ Int64($0) }) { filters.append(Column("created_at") >= since) }
        if let until = query["until"].flatMap({ Int64($0) }) { filters.append(Column("created_at") < until) }
        let (items, next) = page.page(try await db.rows(Trace.self, page, where: filters)) { $0.id! }
        return try json(PageView(data: items, nextCursor: next))
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
        guard let trace = try await db.pool.read({ db in try Trace.fetchOne(db, key: id) }) else {
            throw Problem(.notFound, "trace \(id) not found")
        }
        return try json(trace)
    }

    /// Sums of tokens and cost per user, model and UTC day.
    @Sendable func usage(_ request: Request, context: GatewayContext) async throws -> Response {
        let query = request.uri.queryParameters
        var conditions = ["1"]
        var arguments = StatementArguments()
        if let raw = query["user_id"] {
            guard let value = Int64(raw) else { throw Problem(.badRequest, "user_id must be an integer") }
            conditions.append("user_id = ?"); arguments += [value]
        }
        if let since = query["since"].flatMap({ Int64($0) }) { conditions.append("created_at >= ?"); arguments += [since] }
        if let until = query["until"].flatMap({ Int64($0) }) { conditions.append("created_at < ?"); arguments += [until] }
        let sql = """
            SELECT user_id, model, date(created_at / 1000, 'unixepoch') AS day, count(*) AS requests,
                   sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens, sum(cost) AS cost
            FROM usage_logs WHERE \(conditions.joined(separator: " AND "))
            GROUP BY user_id, model, day ORDER BY day DESC, user_id, model
            """
        let bound = arguments
        let rows = try await db.pool.read { db in try Row.fetchAll(db, sql: sql, arguments: bound) }
        let data: [[String: Any]] = rows.map { row in
            ["user_id": row["user_id"] as Int64, "model": row["model"] as String, "day": row["day"] as String,
             "requests": row["requests"] as Int64, "prompt_tokens": row["prompt_tokens"] as Int64,
             "completion_tokens": row["completion_tokens"] as Int64, "cost": row["cost"] as Int64]
        }
        return jsonResponse(.ok, ["data": data])
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
        let stored = try await db.pool.write { db -> Payload? in
            guard let payload = try Payload.fetchOne(db, key: id) else { return nil }
            try db.execute(sql: "INSERT INTO payload_audit (trace_id, actor, reason, at) VALUES (?, ?, ?, ?)",
                           arguments: [id, "admin", reason, now])
            return payload
        }
        guard let stored else { throw Problem(.notFound, "no payload captured for trace \(id)") }
        let requestText = try stored.requestSealed.map { String(decoding: try box.open($0), as: UTF8.self) }
        let responseText = try stored.responseSealed.map { String(decoding: try box.open($0), as: UTF8.self) }
        return jsonResponse(.ok, [
            "trace_id": id, "request": requestText.map { $0 as Any } ?? NSNull(), "response": responseText.map { $0 as Any } ?? NSNull(),
            "request_truncated": stored.requestTruncated, "response_truncated": stored.responseTruncated,
        ])
    }
}
