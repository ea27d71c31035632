import Foundation

/// A strict, allocation-light JSON reader over raw bytes for the few fields the request path needs (the
/// request's `model`/`stream`, an answer's token counts). It validates the JSON grammar of everything it
/// passes over; anything it does not handle itself (escapes in a wanted string, very deep nesting, a
/// grammar error) makes it give up, and callers then fall back to Foundation, which decides as before.
public struct JSONScanner {
    /// The scanner cannot decide; the caller falls back to Foundation.
    public struct GiveUp: Error {
        public init() {}
    }

    private let bytes: UnsafeRawBufferPointer
    public private(set) var index: Int
    private static let maxDepth = 64

    public init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        index = 0
    }

    public var atEnd: Bool { index >= bytes.count }

    public mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    public func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    public mutating func expect(_ byte: UInt8) throws {
        guard peek() == byte else { throw GiveUp() }
        index += 1
    }

    /// Reads a string (the opening quote is next) and returns its bytes' range, without unescaping; `escaped`
    /// tells whether it held a backslash escape (then the raw bytes are not its value).
    public mutating func string() throws -> (range: Range<Int>, escaped: Bool) {
        try expect(UInt8(ascii: "\""))
        let start = index
        var escaped = false
        var ascii = true
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let range = start..<index
                index += 1
                if !ascii {
                    // Strings must be valid UTF-8, as Foundation requires.
                    guard String(validating: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self) != nil else { throw GiveUp() }
                }
                return (range, escaped)
            }
            if byte < 0x20 { throw GiveUp() }
            if byte >= 0x80 { ascii = false }
            if byte == UInt8(ascii: "\\") {
                escaped = true
                index += 1
                guard index < bytes.count else { throw GiveUp() }
                switch bytes[index] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                     UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 1
                case UInt8(ascii: "u"):
                    // A surrogate must come as a pair (what Python's `ensure_ascii` writes for an emoji); a lone
                    // one is Foundation's to judge.
                    let code = try hexEscape(at: index)
                    index += 5
                    if (0xD800...0xDBFF).contains(code) {
                        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u"),
                              (0xDC00...0xDFFF).contains(try hexEscape(at: index + 1)) else { throw GiveUp() }
                        index += 6
                    } else if (0xDC00...0xDFFF).contains(code) {
                        throw GiveUp()
                    }
                default:
                    throw GiveUp()
                }
                continue
            }
            index += 1
        }
        throw GiveUp()
    }

    /// The code unit of the `\\uXXXX` escape whose `u` is at `index`.
    private func hexEscape(at index: Int) throws -> UInt32 {
        guard index + 4 < bytes.count else { throw GiveUp() }
        var code: UInt32 = 0
        for offset in 1...4 {
            guard let digit = Self.hexValue(bytes[index + offset]) else { throw GiveUp() }
            code = code << 4 | UInt32(digit)
        }
        return code
    }

    /// Reads a number and returns it when it is an integer that fits an `Int64`.
    public mutating func number() throws -> Int64? {
        let start = index
        if peek() == UInt8(ascii: "-") { index += 1 }
        guard let first = peek(), Self.isDigit(first) else { throw GiveUp() }
        index += 1
        if first != UInt8(ascii: "0") { while let byte = peek(), Self.isDigit(byte) { index += 1 } }
        var integral = true
        if peek() == UInt8(ascii: ".") {
            integral = false
            index += 1
            guard let byte = peek(), Self.isDigit(byte) else { throw GiveUp() }
            while let byte = peek(), Self.isDigit(byte) { index += 1 }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            integral = false
            index += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
            guard let byte = peek(), Self.isDigit(byte) else { throw GiveUp() }
            while let byte = peek(), Self.isDigit(byte) { index += 1 }
        }
        guard integral else { return nil }
        return Int64(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self))
    }

    public mutating func literal(_ word: StaticString) throws {
        let end = index + word.utf8CodeUnitCount
        guard end <= bytes.count, self.bytes(index..<end, equal: word) else { throw GiveUp() }
        index = end
    }

    /// Passes over any value, checking its grammar.
    public mutating func skipValue(depth: Int = 0) throws {
        guard depth < Self.maxDepth else { throw GiveUp() }
        skipSpace()
        switch peek() {
        case UInt8(ascii: "{"):
            try object(depth: depth) { scanner, _, _ in try scanner.skipValue(depth: depth + 1) }
        case UInt8(ascii: "["):
            try array(depth: depth) { scanner in try scanner.skipValue(depth: depth + 1) }
        case UInt8(ascii: "\""): _ = try string()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: _ = try number()
        }
    }

    /// Reads an array (its `[` is next, after optional space), calling `element` with the scanner placed before each
    /// element; `element` must read it. Returns the number of elements.
    @discardableResult
    public mutating func array(depth: Int = 0, _ element: (inout JSONScanner) throws -> Void) throws -> Int {
        guard depth < Self.maxDepth else { throw GiveUp() }
        skipSpace()
        try expect(UInt8(ascii: "["))
        skipSpace()
        if peek() == UInt8(ascii: "]") { index += 1; return 0 }
        var count = 0
        while true {
            skipSpace()
            try element(&self)
            count += 1
            skipSpace()
            if peek() == UInt8(ascii: ",") { index += 1; continue }
            try expect(UInt8(ascii: "]"))
            return count
        }
    }

    /// Reads a token count: any JSON number whose value is a whole number that fits an `Int64` (`12`, `12.0`,
    /// `1.2e1`); nil for another number; gives up on anything but a number.
    public mutating func count() throws -> Int64? {
        let start = index
        if let integer = try number() { return integer }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        return Double(text).flatMap { Int64(exactly: $0) }
    }

    /// Reads a string value (its quote is next) and tells whether it is empty.
    public mutating func stringIsEmpty() throws -> Bool { try string().range.isEmpty }

    /// Whether a key read by `object` is `name`: its bytes, or, for a key written with escapes, its decoded text.
    public func key(_ range: Range<Int>, escaped: Bool, is name: StaticString) -> Bool {
        guard escaped else { return bytes(range, equal: name) }
        let quoted = UnsafeRawBufferPointer(rebasing: bytes[(range.lowerBound - 1)..<(range.upperBound + 1)])
        let decoded = try? JSONSerialization.jsonObject(with: Data(quoted), options: .fragmentsAllowed) as? String
        return decoded == name.description
    }

    /// Reads an object (its `{` is next, after optional space), calling `member` for each key with the scanner
    /// placed before the value; `member` must read the value.
    public mutating func object(depth: Int = 0, _ member: (inout JSONScanner, Range<Int>, Bool) throws -> Void) throws {
        guard depth < Self.maxDepth else { throw GiveUp() }
        skipSpace()
        try expect(UInt8(ascii: "{"))
        skipSpace()
        if peek() == UInt8(ascii: "}") { index += 1; return }
        while true {
            skipSpace()
            let (key, escaped) = try string()
            skipSpace()
            try expect(UInt8(ascii: ":"))
            skipSpace()
            try member(&self, key, escaped)
            skipSpace()
            if peek() == UInt8(ascii: ",") { index += 1; continue }
            try expect(UInt8(ascii: "}"))
            return
        }
    }

    /// Reads `bytes` as exactly one object (space around it allowed), calling `member` for each key as `object`
    /// does; false when the bytes hold anything else or the scanner gives up.
    public static func readObject(_ bytes: UnsafeRawBufferPointer, _ member: (inout JSONScanner, Range<Int>, Bool) throws -> Void) -> Bool {
        var scanner = JSONScanner(bytes)
        do {
            try scanner.object(member)
            scanner.skipSpace()
            return scanner.atEnd
        } catch {
            return false
        }
    }

    /// Whether the bytes in `range` spell `text` (ASCII).
    public func bytes(_ range: Range<Int>, equal text: StaticString) -> Bool {
        guard range.count == text.utf8CodeUnitCount else { return false }
        for offset in 0..<range.count where bytes[range.lowerBound + offset] != text.utf8Start[offset] { return false }
        return true
    }

    public func text(_ range: Range<Int>) -> String { String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self) }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
