
/// A model's price in micro-units per million tokens.
public struct ModelPrice: Codable, Sendable, Equatable, StoreRecord {
    public static let databaseTableName = "model_prices"
    public static let primaryKey = ["name"]

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
