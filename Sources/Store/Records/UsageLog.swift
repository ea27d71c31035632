import Foundation

/// One billable request; settled later by `usage.settle`.
public struct UsageLog: Codable, Sendable, Equatable, IdentifiedRecord {
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

}
