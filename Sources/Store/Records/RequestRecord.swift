import Foundation

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
