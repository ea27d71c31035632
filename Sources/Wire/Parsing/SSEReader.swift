import NIOCore

/// Cuts a server-sent event stream into events as its bytes arrive, split anywhere, by the SSE grammar: a line
/// ends in CRLF, LF or CR; a blank line ends an event; an event's `data:` lines are joined with "\n" (one space
/// after the colon dropped); comment lines (`:`) and other fields are skipped, `event:` is kept.
public struct SSEReader: Sendable {
    /// One event: the bytes it arrived as (its blank line included) and the fields the relay reads.
    public struct Event: Sendable {
        public var raw: ByteBuffer
        /// The event's data; nil when it had no `data:` line (such an event is not dispatched by the grammar).
        public var data: ByteBuffer?
        public var name: ByteBuffer?

        /// Whether the data is exactly `text` (e.g. `[DONE]`).
        public func dataIs(_ text: StaticString) -> Bool { data?.spells(text) ?? false }
    }

    private var pending = ByteBuffer()
    /// How far `pending` has been searched for the event's end, so a long event is not rescanned per chunk.
    private var scanned = 0
    private var lineStart = 0
    private var data: ByteBuffer?
    private var dataLines = 0
    private var name: ByteBuffer?

    public init() {}

    /// Adds the next bytes of the stream.
    public mutating func append(_ chunk: ByteBuffer) {
        var chunk = chunk
        // Offsets are kept relative to the reader index, so dropping the bytes already read moves nothing.
        if pending.readerIndex > 0 && pending.readerIndex >= pending.readableBytes { pending.discardReadBytes() }
        pending.writeBuffer(&chunk)
    }

    /// The next complete event, or nil until more bytes arrive.
    public mutating func next() -> Event? {
        let view = pending.readableBytesView
        let base = view.startIndex
        var index = base + scanned
        while index < view.endIndex {
            let byte = view[index]
            guard byte == 0x0A || byte == 0x0D else { index += 1; continue }
            // A CR as the last byte buffered may be the first half of a CRLF: wait for the next byte.
            if byte == 0x0D && index + 1 == view.endIndex { break }
            let lineEnd = index - base
            index += (byte == 0x0D && view[index + 1] == 0x0A) ? 2 : 1
            if lineEnd == lineStart {
                // A blank line: the event ends after its terminator.
                return take(length: index - base)
            }
            field(from: lineStart, to: lineEnd)
            lineStart = index - base
        }
        scanned = index - base
        return nil
    }

    /// The bytes of an unterminated last event, when the stream ends.
    public mutating func rest() -> ByteBuffer {
        defer { reset(); pending.clear() }
        return pending
    }

    private mutating func take(length: Int) -> Event {
        let event = Event(raw: pending.readSlice(length: length)!, data: data, name: name)
        reset()
        return event
    }

    private mutating func reset() {
        scanned = 0
        lineStart = 0
        data = nil
        dataLines = 0
        name = nil
    }

    /// Reads one line (offsets relative to the reader index, terminator excluded).
    private mutating func field(from start: Int, to end: Int) {
        let view = pending.readableBytesView
        let lineStart = view.startIndex + start, lineEnd = view.startIndex + end
        let colon = view[lineStart..<lineEnd].firstIndex(of: UInt8(ascii: ":")) ?? lineEnd
        let nameLength = colon - lineStart
        guard nameLength > 0 else { return }  // a comment
        var valueStart = colon < lineEnd ? colon + 1 : lineEnd
        if valueStart < lineEnd && view[valueStart] == 0x20 { valueStart += 1 }
        let isData = nameLength == 4 && view[lineStart..<colon].elementsEqual("data".utf8)
        let isEvent = nameLength == 5 && view[lineStart..<colon].elementsEqual("event".utf8)
        guard isData || isEvent else { return }
        let value = pending.getSlice(at: pending.readerIndex + valueStart - view.startIndex, length: lineEnd - valueStart)!
        if isEvent {
            name = value
        } else if dataLines == 0 {
            data = value
            dataLines = 1
        } else {
            // Several data lines: joined with "\n" into a buffer of their own.
            var joined = ByteBuffer()
            joined.writeImmutableBuffer(data!)
            joined.writeInteger(UInt8(0x0A))
            joined.writeImmutableBuffer(value)
            data = joined
            dataLines += 1
        }
    }
}

extension ByteBuffer {
    /// Whether the readable bytes are exactly `text` (ASCII): an SSE field's value against a known word.
    public func spells(_ text: StaticString) -> Bool {
        readableBytes == text.utf8CodeUnitCount
            && readableBytesView.elementsEqual(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }
}
