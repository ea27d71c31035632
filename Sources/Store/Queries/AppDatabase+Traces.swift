
/// What `/api/traces` filters on; nil fields do not filter.
public struct TraceFilter: Sendable {
    public var keyId: Int64?
    public var channelId: Int64?
    public var userId: Int64?
    public var status: Int64?
    public var model: String?
    public var stream: Bool?
    /// Billed: a user's request that left token counts (every usage log does: its prompt is at least estimated).
    public var billed: Bool?
    /// `created_at` in [since, until) (UTC ms).
    public var since: Int64?
    public var until: Int64?

    public init() {}

    var sql: SQLFilter {
        var filter = SQLFilter()
        let exact: [(String, Int64?)] = [("key_id", keyId), ("channel_id", channelId), ("user_id", userId), ("status", status)]
        for (name, value) in exact { if let value { filter.add("\(name) = ?", [value]) } }
        if let model { filter.add("model = ?", [model]) }
        if let stream { filter.add("stream = ?", [stream]) }
        if let billed {
            let billedRow = "user_id IS NOT NULL AND (prompt_tokens > 0 OR completion_tokens > 0)"
            filter.add(billed ? billedRow : "NOT (\(billedRow))")
        }
        if let since { filter.add("created_at >= ?", [since]) }
        if let until { filter.add("created_at < ?", [until]) }
        return filter
    }
}

/// Tokens and cost of one user, model and UTC day.
public struct UsageDay: Sendable, Equatable, Codable {
    public var userId: Int64
    public var model: String
    public var day: String
    public var requests: Int64
    public var promptTokens: Int64
    public var completionTokens: Int64
    public var cost: Int64

    enum CodingKeys: String, CodingKey {
        case model, day, requests, cost
        case userId = "user_id", promptTokens = "prompt_tokens", completionTokens = "completion_tokens"
    }
}

/// Traces, usage sums and the audited read of captured payloads.
extension AppDatabase {
    public func traces(_ filter: TraceFilter, _ page: Page) async throws -> [Trace] {
        try await rows(Trace.self, page, where: filter.sql)
    }

    public func trace(_ id: Int64) async throws -> Trace? {
        try await one(Trace.self, id)
    }

    /// Sums of tokens and cost per user, model and UTC day, newest day first; `created_at` in [since, until).
    public func usageByDay(userId: Int64?, since: Int64?, until: Int64?) async throws -> [UsageDay] {
        var filter = SQLFilter()
        if let userId { filter.add("user_id = ?", [userId]) }
        if let since { filter.add("created_at >= ?", [since]) }
        if let until { filter.add("created_at < ?", [until]) }
        return try await read { [filter] db in
            let sql = """
                SELECT user_id, model, \(db.engine.utcDay(ofMillis: "created_at")) AS day, count(*) AS requests,
                       sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens, sum(cost) AS cost
                FROM usage_logs\(filter.whereClause)
                GROUP BY user_id, model, day ORDER BY day DESC, user_id, model
                """
            return try SQLRow.fetchAll(db, sql: sql, arguments: filter.arguments).map { row in
                UsageDay(userId: try row["user_id"], model: try row["model"], day: try row["day"], requests: try row["requests"],
                         promptTokens: try row["prompt_tokens"], completionTokens: try row["completion_tokens"],
                         cost: try row["cost"])
            }
        }
    }

    /// A trace's captured payload, still sealed, read only with an audit row (who, when, why) in the same
    /// transaction; nil (and no audit row) when none was captured.
    public func auditedPayload(traceId: Int64, actor: String, reason: String, at now: Int64) async throws -> Payload? {
        try await write { db in
            guard let payload = try Payload.fetchOne(db, key: traceId) else { return nil }
            try db.execute(sql: "INSERT INTO payload_audit (trace_id, actor, reason, at) VALUES (?, ?, ?, ?)",
                           arguments: [traceId, actor, reason, now])
            return payload
        }
    }
}
