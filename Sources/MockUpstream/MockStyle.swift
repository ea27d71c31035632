import Foundation

/// How the mock writes its JSON and its server-sent events. Real upstreams differ in all of these, and a gateway
/// must read every one of them the same way.
public enum MockStyle: String, Codable, Sendable, CaseIterable {
    /// `{"a":1,"b":2}`, keys sorted, events ended by "\n\n" (the default).
    case compact
    /// Python's `json.dumps` defaults: `", "` and `": "` separators, non-ASCII written as `\u` escapes.
    case spaced
    /// Indented JSON over several lines: a stream event sends one `data:` line per line of JSON.
    case pretty
    /// Compact JSON, SSE lines ended by CRLF, and each event written in pieces cut mid-event and inside the
    /// blank line's CRLF.
    case crlf
    /// `usage` as the first key of an object.
    case usageFirst = "usage_first"

    /// Whether stream chunks carry `"usage": null` until the usage chunk when the client asked for usage (what
    /// OpenAI sends); the compact style leaves the key out.
    var nullUsageOnChunks: Bool { self != .compact }

    /// The line ending of its SSE lines.
    var lineEnd: String { self == .crlf ? "\r\n" : "\n" }

    /// One SSE event: an optional `event:` line, one `data:` line per line of `data`, a blank line.
    func sse(event: String?, _ data: String) -> String {
        var out = event.map { "event: \($0)" + lineEnd } ?? ""
        for line in data.split(separator: "\n", omittingEmptySubsequences: false) { out += "data: \(line)" + lineEnd }
        return out + lineEnd
    }

    /// The pieces an event is written in: whole, or for `crlf` cut in its middle and between the final CR and LF.
    func pieces(_ event: String) -> [String] {
        guard self == .crlf else { return [event] }
        let bytes = Array(event.utf8)
        let cuts = [0, bytes.count / 2, bytes.count - 1, bytes.count]
        return zip(cuts, cuts.dropFirst()).map { String(decoding: bytes[$0..<$1], as: UTF8.self) }
    }

    /// Renders a JSON value (dictionaries, arrays, strings, numbers, booleans, `NSNull`) in this style.
    func json(_ value: Any) -> String {
        var out = ""
        write(value, into: &out, indent: 0)
        return out
    }

    private func write(_ value: Any, into out: inout String, indent: Int) {
        let (comma, colon) = switch self {
        case .spaced: (", ", ": ")
        case .pretty: (",", ": ")
        default: (",", ":")
        }
        func newline(_ level: Int) { if self == .pretty { out += "\n" + String(repeating: "  ", count: level) } }
        switch value {
        case let object as [String: Any]:
            let keys = object.keys.sorted { a, b in
                if self == .usageFirst && (a == "usage") != (b == "usage") { return a == "usage" }
                return a < b
            }
            guard !keys.isEmpty else { out += "{}"; return }
            out += "{"
            for (index, key) in keys.enumerated() {
                if index > 0 { out += comma }
                newline(indent + 1)
                writeString(key, into: &out)
                out += colon
                write(object[key]!, into: &out, indent: indent + 1)
            }
            newline(indent)
            out += "}"
        case let array as [Any]:
            guard !array.isEmpty else { out += "[]"; return }
            out += "["
            for (index, element) in array.enumerated() {
                if index > 0 { out += comma }
                newline(indent + 1)
                write(element, into: &out, indent: indent + 1)
            }
            newline(indent)
            out += "]"
        case let string as String: writeString(string, into: &out)
        case let bool as Bool: out += bool ? "true" : "false"
        case let int as Int: out += String(int)
        case let double as Double: out += double == double.rounded() && abs(double) < 1e15 ? String(Int64(double)) + ".0" : String(double)
        case is NSNull: out += "null"
        case let number as NSNumber: out += number.stringValue
        default: out += "null"
        }
    }

    private func writeString(_ string: String, into out: inout String) {
        out += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || (self == .spaced && scalar.value > 0x7E):
                // Python's ensure_ascii: every code unit as \uXXXX, astral characters as a surrogate pair.
                for unit in String(scalar).utf16 { out += "\\u" + String(format: "%04x", unit) }
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
