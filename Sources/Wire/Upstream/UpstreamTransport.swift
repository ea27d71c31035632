import NIOCore

/// A request to an upstream, ready to send.
public struct UpstreamRequest: Sendable {
    public var url: String
    /// Sent as they are: names and values must already be header-safe.
    public var headers: [(String, String)]
    /// Empty with no `content-type` header: a GET; otherwise a POST.
    public var body: ByteBuffer
    /// The whole exchange, body included, must end within this.
    public var totalTimeout: Duration

    public init(url: String, headers: [(String, String)], body: ByteBuffer, totalTimeout: Duration = .seconds(600)) {
        self.url = url
        self.headers = headers
        self.body = body
        self.totalTimeout = totalTimeout
    }
}

/// The head of an upstream's answer and a way to read its body as it arrives.
public struct UpstreamResponse: Sendable {
    public var status: Int
    public var contentType: String?
    public var retryAfter: String?
    public var body: UpstreamBody

    public init(status: Int, contentType: String?, retryAfter: String?, body: UpstreamBody) {
        self.status = status
        self.contentType = contentType
        self.retryAfter = retryAfter
        self.body = body
    }
}

/// Why an upstream attempt failed before the client saw anything.
public enum UpstreamFailure: Error, Sendable {
    case connect(String)
    case timeout
    case tooLarge
}

/// The seam to upstreams: `NIOUpstreamTransport` (pooled connections on the caller's event loop) or
/// `AsyncHTTPClientTransport`.
public protocol UpstreamTransport: Sendable {
    /// Sends a request; `eventLoop` is where the caller's connection lives (a hint for connection placement).
    func send(_ request: UpstreamRequest, firstByteTimeout: Duration, on eventLoop: (any EventLoop)?) async throws -> UpstreamResponse
    func shutdown() async throws
}
