
/// A customer of the relay: owns keys; billed in micro-units.
public struct User: Codable, Sendable, Equatable, IdentifiedRecord {
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

}
