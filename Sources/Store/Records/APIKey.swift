
/// A client key. Only its SHA-256 is stored; the plain key is shown once at creation.
public struct APIKey: Codable, Sendable, Equatable, IdentifiedRecord {
    public static let databaseTableName = "api_keys"

    public var id: Int64?
    public var userId: Int64
    public var name: String
    public var keyHash: String
    public var fingerprint: String
    /// Models this key may use; nil means any.
    public var models: [String]?
    public var quota: Int64?
    public var used: Int64
    public var status: String
    public var createdAt: Int64
    public var updatedAt: Int64

    enum CodingKeys: String, CodingKey {
        case id, name, fingerprint, models, quota, used, status
        case userId = "user_id"
        case keyHash = "key_hash"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    public init(userId: Int64, name: String, keyHash: String, fingerprint: String, models: [String]?, quota: Int64?, now: Int64) {
        self.userId = userId
        self.name = name
        self.keyHash = keyHash
        self.fingerprint = fingerprint
        self.models = models
        self.quota = quota
        self.used = 0
        self.status = "active"
        self.createdAt = now
        self.updatedAt = now
    }

}
