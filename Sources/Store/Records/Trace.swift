import Foundation

/// One request's trace row.
public struct Trace: Codable, Sendable, Equatable, IdentifiedRecord {
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

}
