import NIOCore

/// What a proxy needs from a response head.
struct UpstreamResponseHead: Sendable, Equatable {
    var status: Int
    var contentType: String?
    var retryAfter: String?
    var keepAlive: Bool
}

/// An incremental HTTP/1.1 response parser: append bytes as they arrive and take the events they complete (the head,
/// body slices, the end). 1xx interim answers are skipped; bodies are framed by `content-length`, `chunked`, or the connection's end.
struct UpstreamResponseParser {
    enum Event {
        case head(UpstreamResponseHead)
        case body(ByteBuffer)
        case end
    }

    struct Invalid: Error, CustomStringConvertible {
        let description: String
        init(_ reason: String) { description = "invalid HTTP response from the upstream: " + reason }
    }

    private enum State {
        case head
        case fixed(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case untilClose
        /// The message is complete; `.end` is reported next.
        case ended
    }

    static let maxHeadBytes = 64 << 10
    private static let maxLineBytes = 4 << 10

    private var state = State.head
    /// Bytes read and not parsed yet.
    private var input = ByteBuffer()

    /// Whether a response is under way (a close now would cut it, unless its body runs to the close).
    var inMessage: Bool {
        if case .head = state { return input.readableBytes > 0 }
        return true
    }

    /// Adds bytes read from the connection; `next()` then reports what they complete.
    mutating func append(_ bytes: ByteBuffer) {
        if input.readableBytes == 0 {
            input = bytes
        } else {
            var bytes = bytes
            input.writeBuffer(&bytes)
        }
    }

    /// The next event the bytes so far complete, or nil until more arrive. The caller handles each event with the
    /// parser released, so a handler may close the connection (and reach `inputClosed`) from inside one.
    mutating func next() throws -> Event? {
        while true {
            switch state {
            case .head:
                guard input.readableBytes > 0 else { return nil }
                guard let (head, length, framing) = try Self.parseHead(input.readableBytesView) else {
                    guard input.readableBytes <= Self.maxHeadBytes else { throw Invalid("head over \(Self.maxHeadBytes) bytes") }
                    return nil
                }
                input.moveReaderIndex(forwardBy: length)
                if head.status < 200 && head.status != 101 { continue }  // interim (100 Continue, 103): the answer follows
                guard head.status != 101 else { throw Invalid("unexpected protocol switch") }
                switch framing {
                case .none: state = .ended
                case .length(let count): state = count == 0 ? .ended : .fixed(remaining: count)
                case .chunked: state = .chunkSize
                case .close: state = .untilClose
                }
                return .head(head)
            case .fixed(let remaining), .chunkData(let remaining):
                guard input.readableBytes > 0 else { return nil }
                let count = min(remaining, input.readableBytes)
                let slice = input.readSlice(length: count)!
                let chunked = if case .chunkData = state { true } else { false }
                if count < remaining {
                    state = chunked ? .chunkData(remaining: remaining - count) : .fixed(remaining: remaining - count)
                } else {
                    state = chunked ? .chunkDataEnd : .ended
                }
                return .body(slice)
            case .chunkSize:
                guard let line = try takeLine() else { return nil }
                let size = try Self.chunkSize(line)
                state = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkDataEnd:
                guard let line = try takeLine() else { return nil }
                guard line.isEmpty else { throw Invalid("chunk longer than its size") }
                state = .chunkSize
            case .trailers:
                guard let line = try takeLine() else { return nil }
                if line.isEmpty { state = .ended }
            case .untilClose:
                guard input.readableBytes > 0 else { return nil }
                defer { input.clear() }
                return .body(input)
            case .ended:
                state = .head
                return .end
            }
        }
    }

    /// The connection closed: the end of a body that runs to the close (nil otherwise); a response cut short fails.
    mutating func inputClosed() throws -> Event? {
        switch state {
        case .untilClose, .ended:
            state = .head
            return .end
        default:
            if inMessage { throw Invalid("connection closed mid-response") }
            return nil
        }
    }

    // MARK: Parsing

    private enum Framing {
        case none, length(Int), chunked, close
    }

    /// One line without its CR LF, or nil (the bytes kept) when its end has not arrived.
    private mutating func takeLine() throws -> [UInt8]? {
        guard let newline = input.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            guard input.readableBytes <= Self.maxLineBytes else { throw Invalid("line over \(Self.maxLineBytes) bytes") }
            return nil
        }
        var line = input.readBytes(length: newline - input.readerIndex)!
        input.moveReaderIndex(forwardBy: 1)
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        return line
    }

    private static func chunkSize(_ line: [UInt8]) throws -> Int {
        var size = 0
        var digits = 0
        for byte in line {
            let value: Int
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = Int(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = Int(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = Int(byte - UInt8(ascii: "A") + 10)
            case UInt8(ascii: ";"), UInt8(ascii: " "), UInt8(ascii: "\t"):
                guard digits > 0 else { throw Invalid("bad chunk size") }
                return size  // a chunk extension follows; ignored
            default: throw Invalid("bad chunk size")
            }
            digits += 1
            guard digits <= 15 else { throw Invalid("chunk size too large") }
            size = size << 4 | value
        }
        guard digits > 0 else { throw Invalid("bad chunk size") }
        return size
    }

    /// The head at the start of `bytes`: what it says, its length, and how its body is framed; nil when incomplete.
    private static func parseHead(_ bytes: ByteBufferView) throws -> (UpstreamResponseHead, Int, Framing)? {
        try bytes.withUnsafeBytes { raw -> (UpstreamResponseHead, Int, Framing)? in
            // The head ends with its first empty line after the status line (CR LF CR LF, or bare LFs).
            var scan = Lines(raw: raw, end: raw.count)
            guard scan.next() != nil else { return nil }
            var end = -1
            while let line = scan.next() {
                if line.isEmpty {
                    end = scan.start
                    break
                }
            }
            guard end > 0 else { return nil }
            var lines = Lines(raw: raw, end: end)
            guard let statusLine = lines.next() else { throw Invalid("empty head") }
            // "HTTP/1.x SSS reason"
            guard statusLine.count >= 12, raw[statusLine.lowerBound..<statusLine.lowerBound + 7].elementsEqual("HTTP/1.".utf8),
                  raw[statusLine.lowerBound + 8] == UInt8(ascii: " ") else { throw Invalid("bad status line") }
            let minor = raw[statusLine.lowerBound + 7]
            var status = 0
            for offset in 9..<12 {
                let digit = raw[statusLine.lowerBound + offset]
                guard digit >= UInt8(ascii: "0") && digit <= UInt8(ascii: "9") else { throw Invalid("bad status code") }
                status = status * 10 + Int(digit - UInt8(ascii: "0"))
            }
            guard status >= 100 else { throw Invalid("bad status code") }
            var head = UpstreamResponseHead(status: status, contentType: nil, retryAfter: nil, keepAlive: minor != UInt8(ascii: "0"))
            var length: Int?
            var chunked = false
            while let line = lines.next(), !line.isEmpty {
                guard let colon = raw[line].firstIndex(of: UInt8(ascii: ":")), colon > line.lowerBound else { throw Invalid("bad header line") }
                let name = line.lowerBound..<colon
                var valueStart = colon + 1
                var valueEnd = line.upperBound
                while valueStart < valueEnd && (raw[valueStart] == 0x20 || raw[valueStart] == 0x09) { valueStart += 1 }
                while valueEnd > valueStart && (raw[valueEnd - 1] == 0x20 || raw[valueEnd - 1] == 0x09) { valueEnd -= 1 }
                let value = UnsafeRawBufferPointer(rebasing: raw[valueStart..<valueEnd])
                switch name.count {
                case 14 where equalsLowercased(raw, name, "content-length"):
                    guard let parsed = decimal(value), length == nil || length == parsed else { throw Invalid("bad content-length") }
                    length = parsed
                case 17 where equalsLowercased(raw, name, "transfer-encoding"):
                    chunked = containsLowercased(value, "chunked")
                case 10 where equalsLowercased(raw, name, "connection"):
                    if containsLowercased(value, "close") { head.keepAlive = false }
                    else if containsLowercased(value, "keep-alive") { head.keepAlive = true }
                case 12 where equalsLowercased(raw, name, "content-type"):
                    head.contentType = String(decoding: value, as: UTF8.self)
                case 11 where equalsLowercased(raw, name, "retry-after"):
                    head.retryAfter = String(decoding: value, as: UTF8.self)
                default:
                    break
                }
            }
            let framing: Framing
            if UpstreamHTTPCodec.forbidsBody(status: status) {
                framing = .none
            } else if chunked {
                framing = .chunked  // wins over content-length (RFC 9112 §6.3)
            } else if let length {
                framing = .length(length)
            } else {
                framing = .close
                head.keepAlive = false
            }
            return (head, end, framing)
        }
    }

    /// The lines of a head, without their line ends.
    private struct Lines {
        let raw: UnsafeRawBufferPointer
        let end: Int
        var start = 0

        init(raw: UnsafeRawBufferPointer, end: Int) {
            self.raw = raw
            self.end = end
        }

        mutating func next() -> Range<Int>? {
            guard start < end, let newline = raw[start..<end].firstIndex(of: UInt8(ascii: "\n")) else { return nil }
            defer { start = newline + 1 }
            let stop = newline > start && raw[newline - 1] == UInt8(ascii: "\r") ? newline - 1 : newline
            return start..<stop
        }
    }

    private static func equalsLowercased(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>, _ name: StaticString) -> Bool {
        name.withUTF8Buffer { expected in
            guard expected.count == range.count else { return false }
            for (offset, byte) in expected.enumerated() where raw[range.lowerBound + offset] | 0x20 != byte { return false }
            return true
        }
    }

    /// Whether `value` holds `token` (ASCII, any case).
    private static func containsLowercased(_ value: UnsafeRawBufferPointer, _ token: StaticString) -> Bool {
        token.withUTF8Buffer { token in
            guard value.count >= token.count else { return false }
            outer: for start in 0...(value.count - token.count) {
                for offset in 0..<token.count where value[start + offset] | 0x20 != token[offset] { continue outer }
                return true
            }
            return false
        }
    }

    private static func decimal(_ value: UnsafeRawBufferPointer) -> Int? {
        guard !value.isEmpty, value.count <= 15 else { return nil }
        var result = 0
        for byte in value {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            result = result * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return result
    }
}
