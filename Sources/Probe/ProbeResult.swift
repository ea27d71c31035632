/// How an upstream answered one probe, in the terms an operator acts on.
public enum ProbeClassification: String, Codable, Sendable, CaseIterable {
    case ok
    /// 401: the key is wrong or revoked.
    case authFailed = "auth_failed"
    /// 403: not allowed (a fresh key can answer this for a moment).
    case forbidden
    /// 429: rate limited or out of quota; honour `retryAfter`.
    case rateLimited = "rate_limited"
    /// 503: the upstream is warming up.
    case warmingUp = "warming_up"
    case timeout
    /// Connection refused, DNS failure, reset.
    case unreachable
    /// The model is not listed, or the upstream says it does not exist.
    case modelMissing = "model_missing"
    /// The answer is not what an OpenAI-compatible API sends (not JSON, wrong shape, endpoint missing).
    case notOpenAICompatible = "not_openai_compatible"

    /// Whether trying again later can help.
    public var isTransient: Bool { [.rateLimited, .warmingUp, .timeout, .unreachable].contains(self) }
}

/// One probe step's outcome: what was asked, the status, how long it took and what it means.
public struct ProbeStep: Codable, Sendable, Equatable {
    public var step: String
    /// The HTTP status, or 0 when no answer came.
    public var status: Int
    public var latencyMs: Int64
    public var classification: ProbeClassification
    /// Seconds the upstream asked to wait (429/503 `retry-after`).
    public var retryAfter: Int?
    /// A short reason, never carrying the key.
    public var detail: String?

    enum CodingKeys: String, CodingKey {
        case step, status, classification, detail
        case latencyMs = "latency_ms"
        case retryAfter = "retry_after"
    }

    public init(step: String, status: Int, latencyMs: Int64, classification: ProbeClassification, retryAfter: Int? = nil, detail: String? = nil) {
        self.step = step
        self.status = status
        self.latencyMs = latencyMs
        self.classification = classification
        self.retryAfter = retryAfter
        self.detail = detail
    }
}

/// The models step also returns what the upstream lists.
public struct ModelsProbe: Sendable, Equatable {
    public var step: ProbeStep
    public var models: [String]
}

/// Maps a status (and a readable body) to a classification.
public enum ProbeClassifier {
    public static func classify(status: Int, body: String) -> ProbeClassification {
        switch status {
        case 200..<300: return .ok
        case 401: return .authFailed
        case 403: return .forbidden
        case 402, 429: return .rateLimited
        case 503, 529: return .warmingUp
        case 404:
            let lower = body.lowercased()
            return lower.contains("model") ? .modelMissing : .notOpenAICompatible
        case 408, 504: return .timeout
        case 500..<600: return .warmingUp
        default:
            let lower = body.lowercased()
            if lower.contains("model") && (lower.contains("not found") || lower.contains("does not exist")) { return .modelMissing }
            return .notOpenAICompatible
        }
    }
}
