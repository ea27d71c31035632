import Foundation
import NIOCore
import Wire

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

    init(model: String?, stream: Bool, streamOptions: StreamOptions?, keys: Set<String>) {
        self.model = model
        self.stream = stream
        self.streamOptions = streamOptions
        self.keys = keys
    }

    /// Reads a body; throws `RelayError.badRequest` when it is not a JSON object.
    static func read(_ body: ByteBuffer) throws -> RequestProbe {
        // This runs on every request: the byte scanner answers the usual bodies; Foundation the rest.
        if let probe = scan(body) { return probe }
        do {
            return try JSONDecoder().decode(RequestProbe.self, from: body)
        } catch {
            throw RelayError.badRequest("request body must be a JSON object")
        }
    }

    /// The probe read by `JSONScanner`, or nil when Foundation must decide (invalid JSON, escapes in a
    /// key or in `model`, duplicate keys, deep nesting).
    static func scan(_ body: ByteBuffer) -> RequestProbe? {
        body.withUnsafeReadableBytes { raw -> RequestProbe? in
            var probe = RequestProbe(model: nil, stream: false, streamOptions: nil, keys: [])
            let read = JSONScanner.readObject(raw) { s, key, escaped in
                guard !escaped, probe.keys.insert(s.text(key)).inserted else { throw JSONScanner.GiveUp() }
                if s.bytes(key, equal: "model"), s.peek() == UInt8(ascii: "\"") {
                    let (value, escaped) = try s.string()
                    guard !escaped else { throw JSONScanner.GiveUp() }
                    probe.model = s.text(value)
                } else if s.bytes(key, equal: "stream"), s.peek() == UInt8(ascii: "t") {
                    try s.literal("true")
                    probe.stream = true
                } else if s.bytes(key, equal: "stream_options"), s.peek() == UInt8(ascii: "{") {
                    probe.streamOptions = try scanStreamOptions(&s)
                } else {
                    try s.skipValue(depth: 1)
                }
            }
            return read ? probe : nil
        }
    }

    /// `stream_options` as `StreamOptions` decodes it: nil when `include_usage` is neither a Bool nor null.
    private static func scanStreamOptions(_ scanner: inout JSONScanner) throws -> StreamOptions? {
        var includeUsage: Bool?
        var seen = false
        var valid = true
        try scanner.object(depth: 1) { s, key, escaped in
            guard !escaped else { throw JSONScanner.GiveUp() }
            guard s.bytes(key, equal: "include_usage") else { return try s.skipValue(depth: 2) }
            guard !seen else { throw JSONScanner.GiveUp() }
            seen = true
            switch s.peek() {
            case UInt8(ascii: "t"): try s.literal("true"); includeUsage = true
            case UInt8(ascii: "f"): try s.literal("false"); includeUsage = false
            case UInt8(ascii: "n"): try s.literal("null")
            default: valid = false; try s.skipValue(depth: 2)
            }
        }
        return valid ? StreamOptions(includeUsage: includeUsage) : nil
    }
}
