import Foundation
import NIOCore
import Wire

/// What one upstream JSON value (a stream event's data or a whole answer) says about billing, read with
/// `JSONScanner` whatever its spacing or key order. Nil readings mean the bytes were not one JSON object.
struct UsageReading {
    enum Kind { case other, usage, anthropicStart }

    var kind = Kind.other
    var prompt: Int64?
    var completion: Int64?
    /// Whether it carries output: text, a tool call, reasoning or a refusal.
    var output = false
    /// Whether it holds a usage object (not `null`).
    var hasUsage = false
    /// Chat: the number of entries of `choices`, when it is an array.
    var choices: Int?

    // MARK: Stream events

    /// Reads one SSE event's data for `format`; `name` is the event's `event:` field, used when the JSON has no `type`.
    static func event(_ data: ByteBuffer, name: ByteBuffer?, format: UsageMeter.Format) -> UsageReading? {
        data.withUnsafeReadableBytes { raw -> UsageReading? in
            switch format {
            case .openaiChat: chatChunk(raw)
            case .openaiResponses, .anthropic: typedEvent(raw, name: name, format: format)
            case .openaiEmbeddings: nil
            }
        }
    }

    /// An OpenAI chat chunk: `usage` (an object or null) and the output in `choices[].delta`.
    private static func chatChunk(_ raw: UnsafeRawBufferPointer) -> UsageReading? {
        var reading = UsageReading()
        let read = JSONScanner.readObject(raw) { s, key, escaped in
            if s.key(key, escaped: escaped, is: "usage") {
                try reading.readUsage(&s, depth: 1)
                if reading.hasUsage { reading.kind = .usage }
            } else if s.key(key, escaped: escaped, is: "choices"), s.peek() == UInt8(ascii: "[") {
                reading.choices = try s.array(depth: 1) { s in try reading.readChoice(&s, depth: 2) }
            } else {
                try s.skipValue(depth: 1)
            }
        }
        return read ? reading : nil
    }

    /// One entry of `choices`: output when its `delta` (or `message`) has non-empty text, reasoning or a tool call.
    private mutating func readChoice(_ s: inout JSONScanner, depth: Int) throws {
        guard s.peek() == UInt8(ascii: "{") else { return try s.skipValue(depth: depth) }
        try s.object(depth: depth) { s, key, escaped in
            guard s.key(key, escaped: escaped, is: "delta") || s.key(key, escaped: escaped, is: "message"),
                  s.peek() == UInt8(ascii: "{") else { return try s.skipValue(depth: depth + 1) }
            try s.object(depth: depth + 1) { s, key, escaped in
                if Self.isOutputText(s, key, escaped), s.peek() == UInt8(ascii: "\"") {
                    if try !s.stringIsEmpty() { output = true }
                } else if s.key(key, escaped: escaped, is: "tool_calls"), s.peek() == UInt8(ascii: "[") {
                    if try s.array(depth: depth + 2, { s in try s.skipValue(depth: depth + 3) }) > 0 { output = true }
                } else if s.key(key, escaped: escaped, is: "function_call"), s.peek() == UInt8(ascii: "{") {
                    try s.skipValue(depth: depth + 2)
                    output = true
                } else {
                    try s.skipValue(depth: depth + 2)
                }
            }
        }
    }

    private static func isOutputText(_ s: JSONScanner, _ key: Range<Int>, _ escaped: Bool) -> Bool {
        s.key(key, escaped: escaped, is: "content") || s.key(key, escaped: escaped, is: "reasoning_content")
            || s.key(key, escaped: escaped, is: "reasoning") || s.key(key, escaped: escaped, is: "refusal")
    }

    /// An OpenAI responses event or an Anthropic message event: told apart by `type` (any key order), with usage
    /// in `response.usage`, `message.usage` or `usage`.
    private static func typedEvent(_ raw: UnsafeRawBufferPointer, name: ByteBuffer?, format: UsageMeter.Format) -> UsageReading? {
        var reading = UsageReading()
        var scanner = JSONScanner(raw)
        var type: (range: Range<Int>, escaped: Bool)?
        do {
            try scanner.object { s, key, escaped in
                if s.key(key, escaped: escaped, is: "type"), s.peek() == UInt8(ascii: "\"") {
                    type = try s.string()
                } else if s.key(key, escaped: escaped, is: "usage") {
                    try reading.readUsage(&s, depth: 1)
                } else if s.key(key, escaped: escaped, is: format == .anthropic ? "message" : "response"), s.peek() == UInt8(ascii: "{") {
                    try s.object(depth: 1) { s, key, escaped in
                        if s.key(key, escaped: escaped, is: "usage") { try reading.readUsage(&s, depth: 2) } else { try s.skipValue(depth: 2) }
                    }
                } else {
                    try s.skipValue(depth: 1)
                }
            }
            scanner.skipSpace()
            guard scanner.atEnd else { return nil }
        } catch {
            return nil
        }
        let isType: (StaticString) -> Bool = { candidate in
            if let type { return scanner.key(type.range, escaped: type.escaped, is: candidate) }
            return name?.spells(candidate) ?? false
        }
        if format == .anthropic {
            if isType("content_block_delta") {
                reading.output = true
            } else if isType("message_start") {
                reading.kind = .anthropicStart
            } else if isType("message_delta") {
                reading.kind = .usage
            }
        } else if isType("response.output_text.delta") || isType("response.function_call_arguments.delta")
                    || isType("response.refusal.delta") || isType("response.reasoning_summary_text.delta")
                    || isType("response.reasoning_text.delta") {
            reading.output = true
        } else if isType("response.completed") || isType("response.incomplete") || isType("response.failed") {
            reading.kind = .usage
        }
        if reading.kind == .other {
            // Usage only counts where the protocol puts the final figures.
            reading.prompt = nil
            reading.completion = nil
        }
        return reading
    }

    // MARK: Whole answers

    /// Reads a whole JSON answer: the top-level `usage`, and output when it has `choices`, `content` or `output`.
    /// Nil when the body is not one JSON object.
    static func body(_ body: ByteBuffer, format: UsageMeter.Format) -> UsageReading? {
        let scanned = body.withUnsafeReadableBytes { raw -> UsageReading? in
            var reading = UsageReading()
            let read = JSONScanner.readObject(raw) { s, key, escaped in
                if s.key(key, escaped: escaped, is: "usage") {
                    try reading.readUsage(&s, depth: 1)
                } else {
                    if s.key(key, escaped: escaped, is: "choices") || s.key(key, escaped: escaped, is: "content")
                        || s.key(key, escaped: escaped, is: "output") { reading.output = true }
                    try s.skipValue(depth: 1)
                }
            }
            return read ? reading : nil
        }
        return scanned ?? foundationBody(body)
    }

    /// What `body` reads, decided by Foundation for the JSON the scanner leaves to it (nesting past its depth, a lone
    /// surrogate escape).
    private static func foundationBody(_ body: ByteBuffer) -> UsageReading? {
        guard let json = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] else { return nil }
        var reading = UsageReading()
        reading.output = json["choices"] != nil || json["content"] != nil || json["output"] != nil
        if let usage = json["usage"] as? [String: Any] {
            reading.hasUsage = true
            let count = { (key: String) in (usage[key] as? NSNumber).flatMap { Int64(exactly: $0.doubleValue) } }
            reading.prompt = count("prompt_tokens") ?? count("input_tokens")
            reading.completion = count("completion_tokens") ?? count("output_tokens")
        }
        return reading
    }

    // MARK: Usage objects

    /// Reads a `usage` value (the scanner before it): its token counts when it is an object, nothing for `null`.
    /// `prompt_tokens` wins over `input_tokens` and `completion_tokens` over `output_tokens`.
    mutating func readUsage(_ s: inout JSONScanner, depth: Int) throws {
        guard s.peek() == UInt8(ascii: "{") else { return try s.skipValue(depth: depth) }
        hasUsage = true
        var counts: [Int64?] = [nil, nil, nil, nil]
        try s.object(depth: depth) { s, key, escaped in
            let slot: Int? = if s.key(key, escaped: escaped, is: "prompt_tokens") { 0 }
                else if s.key(key, escaped: escaped, is: "input_tokens") { 1 }
                else if s.key(key, escaped: escaped, is: "completion_tokens") { 2 }
                else if s.key(key, escaped: escaped, is: "output_tokens") { 3 } else { nil }
            // A count that is not a number (null, a string) is no count.
            guard let slot, let first = s.peek(), first == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
                return try s.skipValue(depth: depth + 1)
            }
            counts[slot] = try s.count()
        }
        if let prompt = counts[0] ?? counts[1] { self.prompt = prompt }
        if let completion = counts[2] ?? counts[3] { self.completion = completion }
    }
}
