import Foundation
import NIOCore

/// What the relay must know of a request body before routing it: read with `JSONDecoder` (no `[String: Any]`
/// boxing); the whole body is parsed into a dictionary only when it must be rewritten.
struct RequestProbe: Decodable {
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    struct StreamOptions: Decodable {
        var includeUsage: Bool?
        enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
    }

    var model: String?
    var stream: Bool
    var streamOptions: StreamOptions?
    /// The top-level keys present.
    var keys: Set<String>

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        keys = Set(container.allKeys.map(\.stringValue))
        model = try? container.decodeIfPresent(String.self, forKey: Key(stringValue: "model"))
        stream = (try? container.decodeIfPresent(Bool.self, forKey: Key(stringValue: "stream"))) == true
        streamOptions = try? container.decodeIfPresent(StreamOptions.self, forKey: Key(stringValue: "stream_options"))
    }

    /// Reads a body; throws `RelayError.badRequest` when it is not a JSON object.
    static func read(_ body: ByteBuffer) throws -> RequestProbe {
        do {
            return try JSONDecoder().decode(RequestProbe.self, from: body)
        } catch {
            throw RelayError.badRequest("request body must be a JSON object")
        }
    }
}
