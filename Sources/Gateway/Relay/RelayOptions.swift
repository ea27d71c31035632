/// Limits and behaviour of the data plane.
public struct RelayOptions: Sendable {
    /// Which HTTP client carries upstream calls: pooled SwiftNIO connections on the inbound event loop (plain
    /// HTTP; HTTPS goes through AsyncHTTPClient), or AsyncHTTPClient for everything.
    public enum UpstreamClient: String, Sendable, CaseIterable { case nio, ahc }
    public var upstreamClient: UpstreamClient
    /// Request bodies over this answer 413.
    public var maxBodyBytes: Int
    /// Upstream answers (non-stream) over this fail the attempt.
    public var maxResponseBytes: Int
    public var connectTimeout: Duration
    /// Time to the upstream's response head and first body bytes.
    public var firstByteTimeout: Duration
    /// The longest an upstream exchange may take, streaming included; past it the stream is cut.
    public var totalTimeout: Duration
    /// Channels tried for one request before answering 502.
    public var maxAttempts: Int
    /// Consecutive failures that auto-disable a channel (at least 2).
    public var autoDisableAfter: Int
    /// How long traces are kept (the purge job reads `expires_at`).
    public var traceRetention: Duration
    /// Capture request and response bodies (sealed with the payload key).
    public var capturePayloads: Bool
    /// Each captured body is cut at this size and flagged truncated.
    public var maxPayloadBytes: Int
    /// How long captured payloads are kept.
    public var payloadRetention: Duration
    /// Request records held in memory while the database is away; at this many the relay answers 503.
    public var maxBufferedRecords = 100_000

    public init(
        maxBodyBytes: Int = 8 << 20, maxResponseBytes: Int = 64 << 20, connectTimeout: Duration = .seconds(5),
        firstByteTimeout: Duration = .seconds(120), totalTimeout: Duration = .seconds(600), maxAttempts: Int = 3, autoDisableAfter: Int = 5,
        traceRetention: Duration = .seconds(30 * 86400), capturePayloads: Bool = false, maxPayloadBytes: Int = 64 << 10,
        payloadRetention: Duration = .seconds(7 * 86400), upstreamClient: UpstreamClient = .nio
    ) {
        self.upstreamClient = upstreamClient
        self.totalTimeout = totalTimeout
        self.capturePayloads = capturePayloads
        self.maxPayloadBytes = maxPayloadBytes
        self.payloadRetention = payloadRetention
        self.maxBodyBytes = maxBodyBytes
        self.maxResponseBytes = maxResponseBytes
        self.connectTimeout = connectTimeout
        self.firstByteTimeout = firstByteTimeout
        self.maxAttempts = max(1, maxAttempts)
        self.autoDisableAfter = max(2, autoDisableAfter)
        self.traceRetention = traceRetention
    }
}

/// A data-plane endpoint: its path upstream, the channel type that serves it natively and its usage format.
enum RelayEndpoint: Sendable {
    case chat, responses, embeddings, messages

    var upstreamPath: String {
        switch self {
        case .chat: "/v1/chat/completions"
        case .responses: "/v1/responses"
        case .embeddings: "/v1/embeddings"
        case .messages: "/v1/messages"
        }
    }

    var clientPath: String { self == .messages ? "/anthropic/v1/messages" : upstreamPath }

    var clientProtocol: ClientProtocol { self == .messages ? .anthropic : .openai }

    var format: UsageMeter.Format {
        switch self {
        case .chat: .openaiChat
        case .responses: .openaiResponses
        case .embeddings: .openaiEmbeddings
        case .messages: .anthropic
        }
    }

    /// Fields a request must carry.
    var requiredFields: [String] {
        switch self {
        case .chat: ["messages"]
        case .responses: ["input"]
        case .embeddings: ["input"]
        case .messages: ["messages", "max_tokens"]
        }
    }
}
