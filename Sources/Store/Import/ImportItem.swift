import Foundation

/// One `base_url` + key of a run, and everything learned about it.
public struct ImportItem: Codable, Sendable, Equatable, StoreRecord {
    public static let databaseTableName = "import_items"
    public static let primaryKey = ["run_id", "idx"]

    public enum State: String, Codable, Sendable {
        case queued, probing, confirming, succeeded, failed, cancelled

        public var isFinal: Bool { [.succeeded, .failed, .cancelled].contains(self) }
    }

    /// Exactly one per finished item.
    public enum Outcome: String, Codable, Sendable, CaseIterable {
        case created, reused, replaced, reactivated, failed, cancelled
        case patchOnly = "patch_only"
    }

    public var runId: String
    public var index: Int
    public var baseURL: String
    public var apiKeySealed: Data
    public var keyFingerprint: String
    public var provider: String?
    public var requestedModels: [String]?
    public var smokeModel: String?
    public var name: String?
    public var state: State
    public var probeUntil: Int64?
    /// The start this item reserved in the run's pace.
    public var startAt: Int64?
    public var outcome: Outcome?
    /// What provisioning did; becomes the outcome once the channel is confirmed.
    public var plannedOutcome: Outcome?
    public var classification: String?
    public var channelId: Int64?
    public var models: [String]?
    public var capabilities: ChannelCapabilities?
    public var providerStatus: String?
    public var accessStatus: String?
    public var directChatStatus: Int?
    public var upstreamChatStatus: Int?
    public var attempts: Int
    public var trail: [TrailEntry]
    public var detail: String?
    public var updatedAt: Int64

    enum CodingKeys: String, CodingKey {
        case provider, name, state, outcome, classification, models, capabilities, attempts, trail, detail
        case runId = "run_id"
        case index = "idx"
        case baseURL = "base_url"
        case apiKeySealed = "api_key_sealed"
        case keyFingerprint = "key_fingerprint"
        case requestedModels = "requested_models"
        case smokeModel = "smoke_model"
        case probeUntil = "probe_until"
        case startAt = "start_at"
        case plannedOutcome = "planned_outcome"
        case channelId = "channel_id"
        case providerStatus = "provider_status"
        case accessStatus = "access_status"
        case directChatStatus = "direct_chat_status"
        case upstreamChatStatus = "upstream_chat_status"
        case updatedAt = "updated_at"
    }

    public init(runId: String, index: Int, baseURL: String, apiKeySealed: Data, keyFingerprint: String, provider: String?,
                requestedModels: [String]?, smokeModel: String?, name: String?, now: Int64) {
        self.runId = runId
        self.index = index
        self.baseURL = baseURL
        self.apiKeySealed = apiKeySealed
        self.keyFingerprint = keyFingerprint
        self.provider = provider
        self.requestedModels = requestedModels
        self.smokeModel = smokeModel
        self.name = name
        self.state = .queued
        self.attempts = 0
        self.trail = []
        self.updatedAt = now
    }

    /// The host of the base URL (what artifacts show instead of the full URL).
    public var host: String { URL(string: baseURL)?.host ?? baseURL }
}

/// One probe or confirmation call of an item: what was asked, how it answered, when.
public struct TrailEntry: Codable, Sendable, Equatable {
    /// `probe` (direct to the upstream) or `confirm` (through the gateway, and directly for comparison).
    public var phase: String
    public var attempt: Int
    public var step: String
    public var status: Int
    public var latencyMs: Int64
    public var classification: String
    public var detail: String?
    public var at: Int64

    enum CodingKeys: String, CodingKey {
        case phase, attempt, step, status, classification, detail, at
        case latencyMs = "latency_ms"
    }

    public init(phase: String, attempt: Int, step: String, status: Int, latencyMs: Int64, classification: String, detail: String?, at: Int64) {
        self.phase = phase
        self.attempt = attempt
        self.step = step
        self.status = status
        self.latencyMs = latencyMs
        self.classification = classification
        self.detail = detail
        self.at = at
    }
}
