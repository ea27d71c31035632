import Foundation

/// A captured request/response pair, sealed with the payload key and capped in size.
public struct Payload: Codable, Sendable, Equatable, StoreRecord {
    public static let databaseTableName = "payloads"
    public static let primaryKey = ["trace_id"]

    public var traceId: Int64
    public var requestSealed: Data?
    public var responseSealed: Data?
    public var requestTruncated: Bool
    public var responseTruncated: Bool
    public var bytes: Int64
    public var expiresAt: Int64

    enum CodingKeys: String, CodingKey {
        case bytes
        case traceId = "trace_id"
        case requestSealed = "request_sealed"
        case responseSealed = "response_sealed"
        case requestTruncated = "request_truncated"
        case responseTruncated = "response_truncated"
        case expiresAt = "expires_at"
    }

    public init(traceId: Int64, requestSealed: Data?, responseSealed: Data?, requestTruncated: Bool,
                responseTruncated: Bool, bytes: Int64, expiresAt: Int64) {
        self.traceId = traceId
        self.requestSealed = requestSealed
        self.responseSealed = responseSealed
        self.requestTruncated = requestTruncated
        self.responseTruncated = responseTruncated
        self.bytes = bytes
        self.expiresAt = expiresAt
    }
}
