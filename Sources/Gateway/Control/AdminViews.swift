import Foundation
import Store

/// A channel as `/api/channels` shows it: the upstream key only as a fingerprint.
public struct ChannelView: Codable, Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var type: String
    public var baseURL: String
    public var keyFingerprint: String
    public var models: [String]
    public var modelMapping: [String: String]
    public var priority: Int
    public var weight: Int
    public var status: String
    public var statusReason: String?
    public var failureStreak: Int
    public var provider: String?
    public var family: String?
    public var capabilities: ChannelCapabilities?
    public var chatOnly: Bool
    public var nodeId: Int64?
    public var createdAt: Int64
    public var updatedAt: Int64

    enum CodingKeys: String, CodingKey {
        case id, name, type, models, priority, weight, status, provider, family, capabilities
        case chatOnly = "chat_only"
        case nodeId = "node_id"
        case baseURL = "base_url"
        case keyFingerprint = "key_fingerprint"
        case modelMapping = "model_mapping"
        case statusReason = "status_reason"
        case failureStreak = "failure_streak"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    init(_ channel: RelayChannel) {
        id = channel.id!
        name = channel.name
        type = channel.type.rawValue
        baseURL = channel.baseURL
        keyFingerprint = channel.keyFingerprint
        models = channel.models
        modelMapping = channel.modelMapping
        priority = channel.priority
        weight = channel.weight
        status = channel.status.rawValue
        statusReason = channel.statusReason
        failureStreak = channel.failureStreak
        provider = channel.provider
        family = channel.family
        capabilities = channel.capabilities
        chatOnly = channel.capabilities?.chatOnly ?? false
        nodeId = channel.nodeId
        createdAt = channel.createdAt
        updatedAt = channel.updatedAt
    }
}

/// The body of `POST /api/channels` (all fields) and `PATCH /api/channels/{id}` (any subset).
struct ChannelInput: Decodable {
    var name: String?
    var type: String?
    var baseURL: String?
    var apiKey: String?
    var models: [String]?
    var modelMapping: [String: String]?
    var priority: Int?
    var weight: Int?
    var status: String?
    /// Binds the channel to an exit node; 0 unbinds it.
    var nodeId: Int64?

    enum CodingKeys: String, CodingKey {
        case name, type, models, priority, weight, status
        case baseURL = "base_url"
        case apiKey = "api_key"
        case modelMapping = "model_mapping"
        case nodeId = "node_id"
    }
}

/// A key as `/api/keys` shows it; `key` (the plain key) appears only in the answer to its creation.
public struct KeyView: Codable, Sendable, Equatable {
    public var id: Int64
    public var userId: Int64
    public var name: String
    public var fingerprint: String
    public var models: [String]?
    public var quota: Int64?
    public var used: Int64
    public var status: String
    public var key: String?
    public var createdAt: Int64

    enum CodingKeys: String, CodingKey {
        case id, name, fingerprint, models, quota, used, status, key
        case userId = "user_id"
        case createdAt = "created_at"
    }

    init(_ key: APIKey, plain: String? = nil) {
        id = key.id!
        userId = key.userId
        name = key.name
        fingerprint = key.fingerprint
        models = key.models
        quota = key.quota
        used = key.used
        status = key.status
        self.key = plain
        createdAt = key.createdAt
    }
}

/// A user as `/api/users` shows it; the multiplier both exact (ppm) and as a number.
public struct UserView: Codable, Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var quota: Int64?
    public var used: Int64
    public var rateMultiplier: Double
    public var rateMultiplierPpm: Int64
    public var status: String
    /// When settlement ran the balance out (the gateway answers 429 while `used >= quota`).
    public var exhaustedAt: Int64?
    public var createdAt: Int64

    enum CodingKeys: String, CodingKey {
        case id, name, quota, used, status
        case rateMultiplier = "rate_multiplier"
        case rateMultiplierPpm = "rate_multiplier_ppm"
        case exhaustedAt = "exhausted_at"
        case createdAt = "created_at"
    }

    init(_ user: User) {
        id = user.id!
        name = user.name
        quota = user.quota
        used = user.used
        rateMultiplier = Double(user.rateMultiplierPpm) / 1_000_000
        rateMultiplierPpm = user.rateMultiplierPpm
        status = user.status
        exhaustedAt = user.exhaustedAt
        createdAt = user.createdAt
    }
}

/// A list with the cursor of the next page.
struct PageView<Item: Encodable>: Encodable {
    let data: [Item]
    let nextCursor: String?

    enum CodingKeys: String, CodingKey {
        case data
        case nextCursor = "next_cursor"
    }
}
