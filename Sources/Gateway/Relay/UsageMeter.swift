import Foundation
import NIOCore
import Wire

/// Reads usage and output progress out of an upstream answer as it passes through, and (for OpenAI chat
/// streams whose client did not ask for usage) drops the usage-only chunk the gateway asked for.
///
/// Answers are read as what they are: SSE by its grammar (`SSEReader`), each event's data and each whole body as
/// JSON (`UsageReading`), so an upstream's spacing, key order, line endings and chunking change nothing.
struct UsageMeter {
    enum Format { case openaiChat, openaiResponses, openaiEmbeddings, anthropic }

    let format: Format
    let stripUsageChunk: Bool
    var promptTokens: Int64?
    var completionTokens: Int64?
    /// Events that carried output (text, tool call, reasoning); a stream with none is not billed.
    private(set) var outputEvents: Int64 = 0
    private var reader = SSEReader()

    init(format: Format, stripUsageChunk: Bool = false) {
        self.format = format
        self.stripUsageChunk = stripUsageChunk
    }

    var sawOutput: Bool { outputEvents > 0 }

    // MARK: Whole bodies

    /// Reads usage from a complete JSON answer; false when the body is not a JSON object.
    mutating func readBody(_ body: ByteBuffer) -> Bool {
        guard let reading = UsageReading.body(body, format: format) else { return false }
        apply(reading)
        switch format {
        case .openaiEmbeddings: outputEvents = 1
        default: outputEvents = reading.output || (completionTokens ?? 0) > 0 ? 1 : 0
        }
        return true
    }

    // MARK: Streams

    /// Takes a chunk of an SSE stream and returns the bytes to forward: the chunk itself, or, when the usage
    /// chunk must be dropped, the whole events it completes (a partial event waits for its end).
    mutating func feed(_ chunk: ByteBuffer) -> ByteBuffer {
        reader.append(chunk)
        var forward = ByteBuffer()
        while var event = reader.next() {
            let keep = inspect(event)
            if stripUsageChunk && keep { forward.writeBuffer(&event.raw) }
        }
        return stripUsageChunk ? forward : chunk
    }

    /// The bytes still held at the end of the stream (an unterminated last event), to forward as they are.
    mutating func finish() -> ByteBuffer {
        let rest = reader.rest()
        return stripUsageChunk ? rest : ByteBuffer()
    }

    /// Reads one event; false when it must not be forwarded.
    private mutating func inspect(_ event: SSEReader.Event) -> Bool {
        guard let data = event.data, !event.dataIs("[DONE]"),
              let reading = UsageReading.event(data, name: event.name, format: format) else { return true }
        if reading.output { outputEvents += 1 }
        switch reading.kind {
        case .usage:
            apply(reading)
        case .anthropicStart:
            // message_start's output count is a placeholder; message_delta carries the real one.
            apply(reading)
            completionTokens = nil
        case .other:
            break
        }
        // The usage-only chunk the gateway asked for on the client's behalf (`choices` empty, or left out).
        return !(stripUsageChunk && format == .openaiChat && reading.hasUsage && (reading.choices ?? 0) == 0)
    }

    private mutating func apply(_ reading: UsageReading) {
        if let prompt = reading.prompt { promptTokens = prompt }
        if let completion = reading.completion { completionTokens = completion }
    }
}
