/// Arguments of the batched maintenance kinds (`usage.settle`, `payloads.purge`); all optional.
public struct BatchSizeArgs: Codable, Sendable {
    /// Rows per write transaction (each kind has its own default).
    public var batchSize: Int?

    enum CodingKeys: String, CodingKey { case batchSize = "batch_size" }

    public init(batchSize: Int? = nil) { self.batchSize = batchSize }
}
