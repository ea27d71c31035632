import Foundation
import GRDB

/// What one relayed request left behind: metadata for operators, usage for billing, an optional payload.
public struct RequestRecord: Sendable {
    public var trace: Trace
    /// Present when the request is billable (a successful answer with output).
    public var usage: UsageLog?
    /// The captured bodies, still plain: the writer seals them off the request path.
    public var payload: CapturedPayload?

    public init(trace: Trace, usage: UsageLog?, payload: CapturedPayload? = nil) {
        self.trace = trace
        self.usage = usage
        self.payload = payload
    }
}

/// Request and response bodies as captured, each capped at the configured size.
public struct CapturedPayload: Sendable {
    public var request: Data
    public var response: Data
    public var requestTruncated: Bool
    public var responseTruncated: Bool
    public var expiresAt: Int64

    public init(request: Data, response: Data, requestTruncated: Bool, responseTruncated: Bool, expiresAt: Int64) {
        self.request = request
        self.response = response
        self.requestTruncated = requestTruncated
        self.responseTruncated = responseTruncated
        self.expiresAt = expiresAt
    }
}

/// One request's trace row.
public struct Trace: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "traces"

    public var id: Int64?
    public var requestId: String
    public var userId: Int64?
    public var keyId: Int64?
    public var channelId: Int64?
    public var model: String?
    public var endpoint: String
    public var stream: Bool
    public var status: Int
    public var attempts: Int
    public var latencyMs: Int64
    public var ttftMs: Int64?
    public var promptTokens: Int64
    public var completionTokens: Int64
    public var cost: Int64
    public var error: String?
    public var hasPayload: Bool
    public var createdAt: Int64
    public var expiresAt: Int64

    enum CodingKeys: String, CodingKey {
        case id, model, endpoint, stream, status, attempts, cost, error
        case requestId = "request_id"
        case userId = "user_id"
        case keyId = "key_id"
        case channelId = "channel_id"
        case latencyMs = "latency_ms"
        case ttftMs = "ttft_ms"
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case hasPayload = "has_payload"
        case createdAt = "created_at"
        case expiresAt = "expires_at"
    }

    public init(requestId: String, endpoint: String, createdAt: Int64, expiresAt: Int64) {
        self.requestId = requestId
        self.endpoint = endpoint
        self.stream = false
        self.status = 0
        self.attempts = 0
        self.latencyMs = 0
        self.promptTokens = 0
        self.completionTokens = 0
        self.cost = 0
        self.hasPayload = false
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// One billable request; settled later by `usage.settle`.
public struct UsageLog: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "usage_logs"

    public var id: Int64?
    public var requestId: String
    public var userId: Int64
    public var keyId: Int64
    public var channelId: Int64?
    public var model: String
    public var promptTokens: Int64
    public var completionTokens: Int64
    public var cost: Int64
    public var createdAt: Int64

    enum CodingKeys: String, CodingKey {
        case id, model, cost
        case requestId = "request_id"
        case userId = "user_id"
        case keyId = "key_id"
        case channelId = "channel_id"
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case createdAt = "created_at"
    }

    public init(requestId: String, userId: Int64, keyId: Int64, channelId: Int64?, model: String,
                promptTokens: Int64, completionTokens: Int64, cost: Int64, createdAt: Int64) {
        self.requestId = requestId
        self.userId = userId
        self.keyId = keyId
        self.channelId = channelId
        self.model = model
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cost = cost
        self.createdAt = createdAt
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// A captured request/response pair, sealed with the payload key and capped in size.
public struct Payload: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "payloads"

    public var traceId: Int64
    public var requestSealed: Data?
    public var responseSealed: Data?
    public var requestTruncated: Bool
    public var responseTruncated: Bool
    public var bytes: Int64
    public var expiresAt: Int64

    enum CodingKeys: String, CodingKey {
        case bytes
        case traceId = "trace_id"
        case requestSealed = "request_sealed"
        case responseSealed = "response_sealed"
        case requestTruncated = "request_truncated"
        case responseTruncated = "response_truncated"
        case expiresAt = "expires_at"
    }

    public init(traceId: Int64, requestSealed: Data?, responseSealed: Data?, requestTruncated: Bool,
                responseTruncated: Bool, bytes: Int64, expiresAt: Int64) {
        self.traceId = traceId
        self.requestSealed = requestSealed
        self.responseSealed = responseSealed
        self.requestTruncated = requestTruncated
        self.responseTruncated = responseTruncated
        self.bytes = bytes
        self.expiresAt = expiresAt
    }
}
