import GRDB

/// A customer of the relay: owns keys; billed in micro-units.
public struct User: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "users"

    public var id: Int64?
    public var name: String
    /// Micro-units granted; nil means unlimited.
    public var quota: Int64?
    /// Micro-units settled so far (`usage.settle` debits here); the balance is `quota - used`.
    public var used: Int64
    /// The rate multiplier in parts per million (1.5× = 1,500,000), so money math stays integer.
    public var rateMultiplierPpm: Int64
    public var status: String
    /// When settlement ran the balance (`quota - used`) out; nil while there is balance left.
    public var exhaustedAt: Int64?
    public var createdAt: Int64
    public var updatedAt: Int64

    enum CodingKeys: String, CodingKey {
        case id, name, quota, used, status
        case rateMultiplierPpm = "rate_multiplier_ppm"
        case exhaustedAt = "exhausted_at"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    public init(name: String, quota: Int64?, rateMultiplierPpm: Int64 = 1_000_000, now: Int64) {
        self.name = name
        self.quota = quota
        self.used = 0
        self.rateMultiplierPpm = rateMultiplierPpm
        self.status = "active"
        self.createdAt = now
        self.updatedAt = now
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// A client key. Only its SHA-256 is stored; the plain key is shown once at creation.
public struct APIKey: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
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

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// A model's price in micro-units per million tokens.
public struct ModelPrice: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "model_prices"

    public var name: String
    public var inputPrice: Int64
    public var outputPrice: Int64
    public var updatedAt: Int64

    enum CodingKeys: String, CodingKey {
        case name
        case inputPrice = "input_price"
        case outputPrice = "output_price"
        case updatedAt = "updated_at"
    }

    public init(name: String, inputPrice: Int64, outputPrice: Int64, updatedAt: Int64) {
        self.name = name
        self.inputPrice = inputPrice
        self.outputPrice = outputPrice
        self.updatedAt = updatedAt
    }

    /// The cost of a request in micro-units, rounded up: `ceil((prompt × in + completion × out) / 1e6)`.
    public func cost(promptTokens: Int64, completionTokens: Int64) -> Int64 {
        let total = promptTokens * inputPrice + completionTokens * outputPrice
        return (total + 999_999) / 1_000_000
    }
}
