import NIOCore
import Testing
import Wire

/// The SSE grammar on its own: line ends, comments, fields, events cut anywhere.
@Suite struct SSEReaderTests {
    struct Seen: Equatable {
        var raw: String
        var data: String?
        var name: String?
    }

    /// Feeds `text` in pieces of `step` bytes and returns every event read, then what was left unterminated.
    static func read(_ text: String, step: Int) -> (events: [Seen], rest: String) {
        var reader = SSEReader()
        var events: [Seen] = []
        let bytes = Array(text.utf8)
        for start in stride(from: 0, to: bytes.count, by: step) {
            reader.append(ByteBuffer(bytes: bytes[start..<min(start + step, bytes.count)]))
            while let event = reader.next() {
                events.append(Seen(raw: String(buffer: event.raw), data: event.data.map { String(buffer: $0) },
                                   name: event.name.map { String(buffer: $0) }))
            }
        }
        return (events, String(buffer: reader.rest()))
    }

    @Test(arguments: [1, 2, 3, 7, 1000])
    func linesEndInCRLFOrLFOrCRAndDataLinesJoin(step: Int) {
        let first = ": keep-alive\r" + "data:{\"a\":\r" + "data: 1}\r\r"
        let second = "event: named\r\n" + "retry: 5\r\n" + "data: [\r\n" + "data:2]\n\r\n"
        let third = "data: [DONE]\n\n"
        let (events, rest) = Self.read(first + second + third + "data: unterminated", step: step)
        #expect(events == [
            Seen(raw: first, data: "{\"a\":\n1}", name: nil),
            Seen(raw: second, data: "[\n2]", name: "named"),
            Seen(raw: third, data: "[DONE]", name: nil),
        ])
        #expect(rest == "data: unterminated")
    }

    @Test func aCommentOnlyEventHasNoData() {
        var reader = SSEReader()
        reader.append(ByteBuffer(string: ": ping\n\ndata: x\n\n"))
        let comment = reader.next()
        #expect(comment?.data == nil && comment.map { String(buffer: $0.raw) } == ": ping\n\n")
        let data = reader.next()
        #expect(data?.dataIs("x") == true && data?.dataIs("xx") == false)
        #expect(reader.next() == nil)
    }

    @Test func aCRAtTheEndOfAChunkWaitsForTheNextByte() {
        var reader = SSEReader()
        reader.append(ByteBuffer(string: "data: x\r\n\r"))
        #expect(reader.next() == nil)
        reader.append(ByteBuffer(string: "\n"))
        let event = reader.next()
        #expect(event.map { String(buffer: $0.raw) } == "data: x\r\n\r\n")
    }

    @Test func spellsComparesWholeValues() {
        #expect(ByteBuffer(string: "[DONE]").spells("[DONE]"))
        #expect(!ByteBuffer(string: "[DONE] ").spells("[DONE]"))
        #expect(!ByteBuffer(string: "[DON").spells("[DONE]"))
    }
}
