import Foundation
import NIOCore

/// Reads usage and output progress out of an upstream answer as it passes through, and (for OpenAI chat
/// streams whose client did not ask for usage) drops the usage-only chunk the gateway asked for.
struct UsageMeter {
    enum Format { case openaiChat, openaiResponses, openaiEmbeddings, anthropic }

    let format: Format
    let stripUsageChunk: Bool
    var promptTokens: Int64?
    var completionTokens: Int64?
    /// Events that carried output (text, tool call, reasoning); a stream with none is not billed.
    private(set) var outputEvents: Int64 = 0
    private var pending = ByteBuffer()

    init(format: Format, stripUsageChunk: Bool = false) {
        self.format = format
        self.stripUsageChunk = stripUsageChunk
    }

    var sawOutput: Bool { outputEvents > 0 }

    // MARK: Whole bodies

    /// Reads usage from a complete JSON answer; false when the body is not a JSON object. Only the `usage`
    /// object is parsed: this runs on every non-stream answer.
    mutating func readBody(_ body: ByteBuffer) -> Bool {
        let bytes = body.readableBytesView
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        guard bytes.first(where: { !isSpace($0) }) == UInt8(ascii: "{"), bytes.last(where: { !isSpace($0) }) == UInt8(ascii: "}") else {
            return false
        }
        if let range = Self.lastObject(named: "usage", in: bytes) {
            if let (prompt, completion) = Self.scanUsage(bytes[range]) {
                if let prompt { promptTokens = prompt }
                if let completion { completionTokens = completion }
            } else if let usage = try? JSONSerialization.jsonObject(with: Data(bytes[range])) as? [String: Any] {
                readUsage(usage)
            }
        }
        switch format {
        case .openaiEmbeddings: outputEvents = 1
        default:
            let hasOutput = (completionTokens ?? 0) > 0 || Self.contains("\"choices\"", in: bytes) || Self.contains("\"content\"", in: bytes)
                || Self.contains("\"output\"", in: bytes)
            outputEvents = hasOutput ? 1 : 0
        }
        return true
    }

    /// The token counts of a usage object as `readUsage` reads them, when they are plain integers (the usual
    /// case, read without Foundation); nil when Foundation must decide.
    static func scanUsage(_ object: ByteBufferView) -> (prompt: Int64?, completion: Int64?)? {
        let counts = object.withContiguousStorageIfAvailable { buffer -> [Int64?]? in
            // prompt_tokens, input_tokens, completion_tokens, output_tokens: nil inside when absent.
            var found: [Int64?] = [nil, nil, nil, nil]
            let read = JSONScanner.readObject(UnsafeRawBufferPointer(buffer)) { s, key, escaped in
                guard !escaped else { throw JSONScanner.GiveUp() }
                let slot: Int? = if s.bytes(key, equal: "prompt_tokens") { 0 } else if s.bytes(key, equal: "input_tokens") { 1 }
                    else if s.bytes(key, equal: "completion_tokens") { 2 } else if s.bytes(key, equal: "output_tokens") { 3 } else { nil }
                guard let slot else { return try s.skipValue(depth: 1) }
                // `number` gives up on anything but a number; nil is a number that is not an Int64 integer.
                guard found[slot] == nil, let value = try s.number() else { throw JSONScanner.GiveUp() }
                found[slot] = value
            }
            return read ? found : nil
        }
        guard let counts = counts ?? nil else { return nil }
        return (counts[0] ?? counts[1], counts[2] ?? counts[3])
    }

    /// The byte range of the object value of the last `"name":` key, braces matched outside strings.
    static func lastObject(named name: String, in bytes: ByteBufferView) -> Range<Int>? {
        let needle = Array("\"\(name)\"".utf8)
        guard let keyStart = lastIndex(of: needle, in: bytes) else { return nil }
        var index = keyStart + needle.count
        while index < bytes.endIndex, bytes[index] == 0x20 || bytes[index] == UInt8(ascii: ":") { index += 1 }
        guard index < bytes.endIndex, bytes[index] == UInt8(ascii: "{") else { return nil }
        let start = index
        var depth = 0
        var inString = false
        while index < bytes.endIndex {
            let byte = bytes[index]
            if inString {
                if byte == UInt8(ascii: "\\") { index += 1 } else if byte == UInt8(ascii: "\"") { inString = false }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            } else if byte == UInt8(ascii: "{") {
                depth += 1
            } else if byte == UInt8(ascii: "}") {
                depth -= 1
                if depth == 0 { return start..<(index + 1) }
            }
            index += 1
        }
        return nil
    }

    static func contains(_ text: String, in bytes: ByteBufferView) -> Bool { lastIndex(of: Array(text.utf8), in: bytes) != nil }

    private static func lastIndex(of needle: [UInt8], in bytes: ByteBufferView) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        var index = bytes.endIndex - needle.count
        while index >= bytes.startIndex {
            if bytes[index] == needle[0] {
                var match = true
                for offset in 1..<needle.count where bytes[index + offset] != needle[offset] { match = false; break }
                if match { return index }
            }
            index -= 1
        }
        return nil
    }

    private mutating func readUsage(_ usage: [String: Any]?) {
        guard let usage else { return }
        if let value = (usage["prompt_tokens"] ?? usage["input_tokens"]) as? NSNumber { promptTokens = value.int64Value }
        if let value = (usage["completion_tokens"] ?? usage["output_tokens"]) as? NSNumber { completionTokens = value.int64Value }
    }

    // MARK: Streams

    /// Takes a chunk of an SSE stream and returns the bytes to forward: the chunk itself, or, when the usage
    /// chunk must be dropped, the whole events it completes (a partial event waits for its end).
    mutating func feed(_ chunk: ByteBuffer) -> ByteBuffer {
        var copy = chunk
        pending.writeBuffer(&copy)
        var forward = ByteBuffer()
        while let end = eventEnd(), var event = pending.readSlice(length: end) {
            let keep = inspect(String(buffer: event))
            if stripUsageChunk && keep { forward.writeBuffer(&event) }
        }
        pending.discardReadBytes()
        return stripUsageChunk ? forward : chunk
    }

    /// The bytes still held at the end of the stream (an unterminated last event), to forward as they are.
    mutating func finish() -> ByteBuffer {
        defer { pending.clear() }
        return stripUsageChunk ? pending : ByteBuffer()
    }

    /// The length up to and including the next blank line ("\n\n" or "\r\n\r\n"), if a whole event is buffered.
    private func eventEnd() -> Int? {
        let view = pending.readableBytesView
        var previous: UInt8 = 0
        var index = view.startIndex
        while index < view.endIndex {
            let byte = view[index]
            if byte == UInt8(ascii: "\n") && (previous == UInt8(ascii: "\n")) { return index - view.startIndex + 1 }
            if byte != UInt8(ascii: "\r") { previous = byte }
            index += 1
        }
        return nil
    }

    /// Reads one event; false when it must not be forwarded.
    private mutating func inspect(_ event: String) -> Bool {
        for line in event.split(whereSeparator: \.isNewline) where line.hasPrefix("data:") {
            let data = line.dropFirst(5).drop(while: { $0 == " " })
            if data == "[DONE]" { continue }
            switch format {
            case .openaiChat:
                if data.contains("\"usage\":{") {
                    let json = parse(data)
                    readUsage(json?["usage"] as? [String: Any])
                    if stripUsageChunk, (json?["choices"] as? [Any])?.isEmpty == true { return false }
                }
                if Self.hasChatOutput(data) { outputEvents += 1 }
            case .openaiResponses:
                if data.contains("\"response.output_text.delta\"") || data.contains("\"response.function_call_arguments.delta\"") {
                    outputEvents += 1
                } else if data.contains("\"response.completed\"") {
                    readUsage((parse(data)?["response"] as? [String: Any])?["usage"] as? [String: Any])
                }
            case .anthropic:
                if data.contains("\"content_block_delta\"") {
                    outputEvents += 1
                } else if data.contains("\"message_start\"") {
                    readUsage((parse(data)?["message"] as? [String: Any])?["usage"] as? [String: Any])
                    completionTokens = nil
                } else if data.contains("\"message_delta\"") {
                    readUsage(parse(data)?["usage"] as? [String: Any])
                }
            case .openaiEmbeddings:
                break
            }
        }
        return true
    }

    private func parse(_ data: Substring) -> [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any]
    }

    /// A chat chunk carries output when its delta has non-empty content, reasoning or a tool call.
    static func hasChatOutput(_ data: Substring) -> Bool {
        if data.contains("\"tool_calls\"") { return true }
        for marker in ["\"content\":\"", "\"reasoning_content\":\""] {
            if let range = data.range(of: marker), range.upperBound < data.endIndex, data[range.upperBound] != "\"" { return true }
        }
        return false
    }
}
