import Foundation

/// An upstream the gateway relays to. Its key is sealed at rest and never returned (a fingerprint instead).
public struct RelayChannel: Codable, Sendable, Equatable, IdentifiedRecord {
    public static let databaseTableName = "channels"

    public enum Kind: String, Codable, Sendable { case openai, anthropic }

    /// `enabled` serves traffic; `disabled` was turned off by an operator; `auto_disabled` by failures
    /// (and may come back on its own); `confirming` is provisioned but not yet given to traffic.
    public enum Status: String, Codable, Sendable, CaseIterable {
        case enabled, disabled, autoDisabled = "auto_disabled", confirming
    }

    public var id: Int64?
    public var name: String
    public var type: Kind
    public var baseURL: String
    public var apiKeySealed: Data
    public var keyFingerprint: String
    public var models: [String]
    /// Client-facing model name → the name the upstream knows.
    public var modelMapping: [String: String]
    public var priority: Int
    public var weight: Int
    public var status: Status
    public var statusReason: String?
    public var failureStreak: Int
    /// The catalog provider (or the upstream's host) an import identified; nil for channels made by hand.
    public var provider: String?
    /// The model family an import keyed reuse on (`kimi`, `gpt`, `claude`).
    public var family: String?
    /// What the upstream was found able to do; nil when never probed (everything assumed).
    public var capabilities: ChannelCapabilities?
    /// The exit node whose relay this channel's traffic goes through; nil: straight to `baseURL`.
    public var nodeId: Int64?
    public var createdAt: Int64
    public var updatedAt: Int64

    enum CodingKeys: String, CodingKey {
        case id, name, type, models, priority, weight, status, provider, family, capabilities
        case baseURL = "base_url"
        case apiKeySealed = "api_key_sealed"
        case keyFingerprint = "key_fingerprint"
        case modelMapping = "model_mapping"
        case statusReason = "status_reason"
        case failureStreak = "failure_streak"
        case nodeId = "node_id"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    public init(
        name: String, type: Kind, baseURL: String, apiKeySealed: Data, keyFingerprint: String, models: [String],
        modelMapping: [String: String], priority: Int, weight: Int, status: Status, now: Int64
    ) {
        self.name = name
        self.type = type
        self.baseURL = baseURL
        self.apiKeySealed = apiKeySealed
        self.keyFingerprint = keyFingerprint
        self.models = models
        self.modelMapping = modelMapping
        self.priority = priority
        self.weight = weight
        self.status = status
        self.statusReason = nil
        self.failureStreak = 0
        self.createdAt = now
        self.updatedAt = now
    }


    /// Whether the channel serves `model` (a listed name or a mapped alias).
    public func serves(_ model: String) -> Bool { models.contains(model) || modelMapping[model] != nil }

    /// Whether the channel can take a request to `endpoint` (by the stored capability profile).
    public func supports(responses: Bool = false, stream: Bool = false) -> Bool {
        guard let capabilities else { return true }
        if responses && !capabilities.responses { return false }
        if stream && !capabilities.streaming { return false }
        return true
    }

    /// The name to send upstream for a client's model.
    public func upstreamModel(for model: String) -> String { modelMapping[model] ?? model }
}


/// A channel's capability profile, probed with its smoke model: what routing and reconcile rely on.
public struct ChannelCapabilities: Codable, Sendable, Equatable {
    public var chat: Bool
    public var streaming: Bool
    public var tools: Bool
    public var responses: Bool
    public var anthropicMessages: Bool
    /// The model the profile was measured with.
    public var model: String?

    enum CodingKeys: String, CodingKey {
        case chat, streaming, tools, responses, model
        case anthropicMessages = "anthropic_messages"
    }

    public init(chat: Bool, streaming: Bool, tools: Bool, responses: Bool, anthropicMessages: Bool, model: String? = nil) {
        self.chat = chat
        self.streaming = streaming
        self.tools = tools
        self.responses = responses
        self.anthropicMessages = anthropicMessages
        self.model = model
    }

    /// Chat works but `/responses` does not: the channel is chat-only.
    public var chatOnly: Bool { chat && !responses }

    /// The profile with every key, `model` null when unknown, as artifacts show it. The profile's own coding
    /// leaves a nil `model` out and must stay so: its bytes feed the digests existing runs roll back against.
    public struct Report: Encodable, Sendable {
        public let capabilities: ChannelCapabilities

        public init(_ capabilities: ChannelCapabilities) { self.capabilities = capabilities }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(capabilities.chat, forKey: .chat)
            try container.encode(capabilities.streaming, forKey: .streaming)
            try container.encode(capabilities.tools, forKey: .tools)
            try container.encode(capabilities.responses, forKey: .responses)
            try container.encode(capabilities.anthropicMessages, forKey: .anthropicMessages)
            try container.encode(capabilities.model, forKey: .model)
        }
    }
}
