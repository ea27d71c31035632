import Foundation

/// A scripted misbehaviour of the mock upstream, matched by API key and/or model.
public struct Fault: Codable, Sendable, Equatable {
    /// Answer with this status (401, 403, 429, 503, …) and an error body in the endpoint's protocol.
    public var status: Int?
    /// With 429/503: the `retry-after` header in seconds.
    public var retryAfter: Int?
    /// Apply to the first N matching requests only (e.g. 503 warming up); nil = always.
    public var times: Int?
    /// Wait this long before the response head (slow first byte).
    public var delayMs: Int?
    /// For streams: `before_first_token` or `midway` closes the connection early.
    public var cut: String?
    /// Answer 200 with a body that is not JSON.
    public var invalidJSON: Bool?
    /// Leave the matched model out of `/v1/models`.
    public var missingModel: Bool?
    /// `/v1/responses` answers 404 as if the upstream did not support it.
    public var responsesUnsupported: Bool?
    /// For streams: wait this long between events (a slow generation).
    public var chunkDelayMs: Int?
    /// Error messages quote the API key received (as some upstreams do), to test that it is never passed on.
    public var echoKey: Bool?
    /// Answer 400 when the request carries this header: an upstream that chokes on something only some
    /// clients send (how a host compatibility gap looks from the outside).
    public var rejectHeader: String?
    /// Write this answer's JSON and events in this style instead of the script's.
    public var style: MockStyle?

    enum CodingKeys: String, CodingKey {
        case status, times, cut, style
        case retryAfter = "retry_after"
        case delayMs = "delay_ms"
        case invalidJSON = "invalid_json"
        case missingModel = "missing_model"
        case responsesUnsupported = "responses_unsupported"
        case echoKey = "echo_key"
        case chunkDelayMs = "chunk_delay_ms"
        case rejectHeader = "reject_header"
    }

    public init(status: Int? = nil, retryAfter: Int? = nil, times: Int? = nil, delayMs: Int? = nil, cut: String? = nil,
                invalidJSON: Bool? = nil, missingModel: Bool? = nil, responsesUnsupported: Bool? = nil, echoKey: Bool? = nil,
                chunkDelayMs: Int? = nil, rejectHeader: String? = nil, style: MockStyle? = nil) {
        self.style = style
        self.rejectHeader = rejectHeader
        self.chunkDelayMs = chunkDelayMs
        self.echoKey = echoKey
        self.status = status
        self.retryAfter = retryAfter
        self.times = times
        self.delayMs = delayMs
        self.cut = cut
        self.invalidJSON = invalidJSON
        self.missingModel = missingModel
        self.responsesUnsupported = responsesUnsupported
    }
}

/// One script line: a fault for requests whose key and/or model match.
public struct FaultRule: Codable, Sendable, Equatable {
    public var key: String?
    public var model: String?
    public var fault: Fault

    public init(key: String? = nil, model: String? = nil, fault: Fault) {
        self.key = key
        self.model = model
        self.fault = fault
    }

    func matches(key: String?, model: String?) -> Bool {
        (self.key == nil || self.key == key) && (self.model == nil || self.model == model)
    }
}
