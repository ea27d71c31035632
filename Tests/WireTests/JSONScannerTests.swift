import Foundation
import Testing
import Wire

/// The byte-level JSON reader: what it reads, and that it gives up (so callers fall back to Foundation) on anything
/// it does not handle.
@Suite struct JSONScannerTests {
    /// The top-level members of `text` as key → the raw text of the value, or nil when the scanner gave up.
    static func members(_ text: String) -> [String: String]? {
        var found: [String: String] = [:]
        let bytes = Array(text.utf8)
        let read = bytes.withUnsafeBytes { raw in
            JSONScanner.readObject(raw) { s, key, _ in
                let start = s.index
                try s.skipValue()
                found[s.text(key)] = s.text(start..<s.index)
            }
        }
        return read ? found : nil
    }

    @Test func readsMembersWhateverTheSpacing() {
        let compact = Self.members(#"{"model":"gpt","n":[1,{"x":null}],"ok":true}"#)
        let spaced = Self.members("{\n  \"model\" : \"gpt\" ,\r\n \"n\" : [ 1 , { \"x\" : null } ] ,\t\"ok\": true }\n")
        #expect(compact == ["model": #""gpt""#, "n": #"[1,{"x":null}]"#, "ok": "true"])
        #expect(spaced?.keys.sorted() == ["model", "n", "ok"] && spaced?["model"] == #""gpt""#)
    }

    @Test(arguments: [
        "", "[]", "{", #"{"a":1,}"#, #"{"a":01}"#, #"{"a":1} x"#, #"{"a":tru}"#, #"{"a":"\x"}"#, "{\"a\":\"\u{01}\"}",
        String(repeating: "[", count: 70) + String(repeating: "]", count: 70),
    ])
    func givesUpOnWhatItDoesNotRead(_ text: String) {
        let wrapped = text.hasPrefix("[[") ? #"{"deep":"# + text + "}" : text
        #expect(Self.members(wrapped) == nil)
    }

    @Test func countsAreWholeNumbersInAnySpelling() throws {
        for (text, expected) in [("12", Int64(12)), ("12.0", 12), ("1.2e1", 12), ("-3", -3), ("1.5", nil)] as [(String, Int64?)] {
            let bytes = Array(text.utf8)
            let value = try bytes.withUnsafeBytes { raw in
                var scanner = JSONScanner(raw)
                return try scanner.count()
            }
            #expect(value == expected, "\(text)")
        }
    }

    @Test func escapedKeysAreComparedByTheirText() {
        let bytes = Array(#"{"mod\u0065l":1,"model":2}"#.utf8)
        var matches: [Bool] = []
        let read = bytes.withUnsafeBytes { raw in
            JSONScanner.readObject(raw) { s, key, escaped in
                matches.append(s.key(key, escaped: escaped, is: "model"))
                try s.skipValue()
            }
        }
        #expect(read && matches == [true, true])
    }
}
