import Foundation
import NIOCore
import Testing

@testable import Gateway
@testable import MockUpstream

/// The usage meter reads upstream streams as SSE and JSON, not as bytes of one formatting: every style the mock
/// writes, every way TCP may cut it, the same tokens and the same bytes forwarded.
@Suite struct StreamMeteringTests {
    static let prompt = 11

    /// A stream in `style` and what metering it must give.
    struct Case {
        var format: UsageMeter.Format
        var events: [String]
        var completion: Int64?
    }

    static func cases(_ style: MockStyle) -> [(String, Case)] {
        MockBodies.$style.withValue(style) {
            [
                ("chat", Case(format: .openaiChat, events: MockStreams.chat(model: "m", prompt: prompt, tool: nil, includeUsage: true).list, completion: 6)),
                ("chat tool", Case(format: .openaiChat, events: MockStreams.chat(model: "m", prompt: prompt, tool: "f", includeUsage: true).list, completion: 6)),
                ("responses", Case(format: .openaiResponses, events: MockStreams.responses(model: "m", prompt: prompt).list, completion: 6)),
                ("messages", Case(format: .anthropic, events: MockStreams.messages(model: "m", prompt: prompt, tool: nil).list, completion: 6)),
                ("messages tool", Case(format: .anthropic, events: MockStreams.messages(model: "m", prompt: prompt, tool: "f").list, completion: 6)),
            ]
        }
    }

    /// Feeds `pieces` and returns the meter and the bytes it forwarded.
    static func meter(_ format: UsageMeter.Format, strip: Bool, _ pieces: [ArraySlice<UInt8>]) -> (UsageMeter, [UInt8]) {
        var meter = UsageMeter(format: format, stripUsageChunk: strip)
        var forwarded: [UInt8] = []
        for piece in pieces { forwarded += Array(buffer: meter.feed(ByteBuffer(bytes: piece))) }
        forwarded += Array(buffer: meter.finish())
        return (meter, forwarded)
    }

    @Test(arguments: MockStyle.allCases)
    func everyStyleIsMeteredExactlyHoweverItIsCut(style: MockStyle) async {
        for (name, c) in Self.cases(style) {
            // Thousands of feeds per case: hand the shared test threads over between cases.
            await Task.yield()
            let bytes = Array(c.events.joined().utf8)
            let usageEvents = c.events.filter { $0.contains("\"usage\"") && $0.contains("\"choices\"") && ($0.contains("[]")) }
            let expectedStripped = Array(c.events.filter { !usageEvents.contains($0) }.joined().utf8)
            var cuts: [[ArraySlice<UInt8>]] = [[bytes[...]], bytes.indices.map { bytes[$0...$0] }]
            for cut in stride(from: 1, to: bytes.count, by: 37) { cuts.append([bytes[..<cut], bytes[cut...]]) }
            for pieces in cuts {
                for strip in [false, true] {
                    let (meter, forwarded) = Self.meter(c.format, strip: strip, pieces)
                    #expect(meter.promptTokens == Int64(Self.prompt) && meter.completionTokens == c.completion, "\(style) \(name) \(pieces.count) pieces")
                    #expect(meter.sawOutput, "\(style) \(name)")
                    let expected = strip && c.format == .openaiChat ? expectedStripped : bytes
                    #expect(forwarded == expected, "\(style) \(name) strip=\(strip) \(pieces.count) pieces")
                    if forwarded != expected || meter.promptTokens != Int64(Self.prompt) { return }
                }
            }
            if c.format == .openaiChat { #expect(usageEvents.count == 1, "\(style) \(name): one usage chunk in the stream") }
        }
    }

    /// What OpenAI sends when usage is asked for: `"usage": null` on every chunk, then a usage-only chunk.
    @Test func nullUsageOnEveryChunkAndUsageBeforeChoices() {
        let events = [
            #"data: {"usage": null, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}"#,
            #"data: {"usage": null, "choices": [{"index": 0, "delta": {"content": "Hi"}}]}"#,
            #"data: {"usage" : {"prompt_tokens" : 7 , "completion_tokens" : 2, "prompt_tokens_details": {"cached_tokens": 0}} , "choices" : [ ]}"#,
            "data: [DONE]",
        ].map { $0 + "\n\n" }
        let (meter, forwarded) = Self.meter(.openaiChat, strip: true, [Array(events.joined().utf8)[...]])
        #expect(meter.promptTokens == 7 && meter.completionTokens == 2 && meter.outputEvents == 1)
        #expect(String(decoding: forwarded, as: UTF8.self) == events[0] + events[1] + events[3])
        let (kept, all) = Self.meter(.openaiChat, strip: false, [Array(events.joined().utf8)[...]])
        #expect(kept.promptTokens == 7 && String(decoding: all, as: UTF8.self) == events.joined())
        // A usage chunk without a `choices` key at all is usage-only too; one with output keeps its place.
        let bare = [#"data: {"choices":[{"delta":{"content":"a"}}],"usage":{"prompt_tokens":1,"completion_tokens":1}}"#,
                    #"data: {"id":"x","usage":{"prompt_tokens":2,"completion_tokens":3}}"#].map { $0 + "\n\n" }
        let (last, out) = Self.meter(.openaiChat, strip: true, [Array(bare.joined().utf8)[...]])
        #expect(last.promptTokens == 2 && last.completionTokens == 3 && String(decoding: out, as: UTF8.self) == bare[0])
    }

    /// Text that spells usage inside a string, escapes, surrogate pairs: read as the strings they are.
    @Test func stringsAreStringsWhateverTheySpell() {
        let events = [
            #"data: {"choices":[{"delta":{"content":"say \"usage\":{\"prompt_tokens\":999} \ud83d\ude00 caf\u00e9"}}]}"#,
            #"data: {"choices":[{"delta":{"reasoning_content":"\"\""}}],"note":"\"choices\":[]"}"#,
            #"data: {"choices":[{"delta":{"content":""}}]}"#,
            #"data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4.0}}"#,
        ].map { $0 + "\n\n" }
        let (meter, forwarded) = Self.meter(.openaiChat, strip: true, [Array(events.joined().utf8)[...]])
        #expect(meter.promptTokens == 3 && meter.completionTokens == 4 && meter.outputEvents == 2)
        #expect(String(decoding: forwarded, as: UTF8.self) == events[0] + events[1] + events[2])
    }

    /// The SSE grammar: CR-only and mixed line endings, comments, `data:` without a space, several data lines.
    @Test func sseGrammar() {
        let text = ": keep-alive\r" + "data:{\"choices\":[{\"delta\":\r" + "data: {\"content\":\"x\"}}]}\r\r"
            + "event: ignored\r\n" + "data: {\"choices\":[],\r\n" + "data:\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}\n\r\n"
            + "data: [DONE]\n\n"
        let bytes = Array(text.utf8)
        for pieces in [[bytes[...]], bytes.indices.map { bytes[$0...$0] }] {
            let (meter, forwarded) = Self.meter(.openaiChat, strip: true, pieces)
            #expect(meter.promptTokens == 5 && meter.completionTokens == 1 && meter.outputEvents == 1)
            let expected = ": keep-alive\r" + "data:{\"choices\":[{\"delta\":\r" + "data: {\"content\":\"x\"}}]}\r\r" + "data: [DONE]\n\n"
            #expect(String(decoding: forwarded, as: UTF8.self) == expected, "\(pieces.count) pieces")
        }
    }

    /// Anthropic and responses events whose `type` comes last, written with spaces and without `event:` lines.
    @Test func typedEventsInAnyKeyOrder() {
        let anthropic = [
            #"data: {"message": {"usage": {"input_tokens": 9, "output_tokens": 1}, "id": "m"}, "type": "message_start"}"#,
            #"data: {"delta": {"text": "x", "type": "text_delta"}, "index": 0, "type": "content_block_delta"}"#,
            #"data: {"usage": {"output_tokens": 5}, "delta": {"stop_reason": "end_turn"}, "type": "message_delta"}"#,
        ].map { $0 + "\r\n\r\n" }
        let (a, aOut) = Self.meter(.anthropic, strip: false, [Array(anthropic.joined().utf8)[...]])
        #expect(a.promptTokens == 9 && a.completionTokens == 5 && a.outputEvents == 1 && aOut == Array(anthropic.joined().utf8))
        let responses = [
            "event: response.created\n" + #"data: {"response": {"usage": null}, "type": "response.created"}"#,
            "event: response.output_text.delta\n" + #"data: {"delta": "Hi", "type": "response.output_text.delta"}"#,
            "event: response.completed\n" + #"data: {"response": {"usage": {"input_tokens": 4, "output_tokens": 2}}, "type": "response.completed"}"#,
        ].map { $0 + "\n\n" }
        let (r, _) = Self.meter(.openaiResponses, strip: false, [Array(responses.joined().utf8)[...]])
        #expect(r.promptTokens == 4 && r.completionTokens == 2 && r.outputEvents == 1)
        // Without a `type` in the JSON, the `event:` name decides.
        let named = "event: content_block_delta\ndata: {\"delta\": {\"text\": \"x\"}}\n\n"
        let (n, _) = Self.meter(.anthropic, strip: false, [Array(named.utf8)[...]])
        #expect(n.outputEvents == 1)
    }

    /// Whole answers in every style: the top-level usage, wherever it sits.
    @Test(arguments: MockStyle.allCases)
    func wholeAnswersInEveryStyle(style: MockStyle) {
        let bodies: [(UsageMeter.Format, String)] = MockBodies.$style.withValue(style) {
            [(.openaiChat, MockBodies.chatCompletion(model: "m", prompt: Self.prompt, tool: nil)),
             (.openaiChat, MockBodies.chatCompletion(model: "m", prompt: Self.prompt, tool: "f")),
             (.openaiResponses, MockBodies.json(MockBodies.response(model: "m", prompt: Self.prompt))),
             (.anthropic, MockBodies.message(model: "m", prompt: Self.prompt, tool: nil))]
        }
        for (format, body) in bodies {
            var meter = UsageMeter(format: format)
            let read = meter.readBody(ByteBuffer(string: body))
            #expect(read && meter.promptTokens == Int64(Self.prompt) && meter.completionTokens == 6 && meter.sawOutput, "\(style): \(body)")
        }
        var nullUsage = UsageMeter(format: .openaiChat)
        let read = nullUsage.readBody(ByteBuffer(string: #"{"usage": null, "choices": [{"message": {"content": "x"}}]}"#))
        #expect(read && nullUsage.promptTokens == nil && nullUsage.sawOutput)
        var broken = UsageMeter(format: .openaiChat)
        let readBroken = broken.readBody(ByteBuffer(string: #"{"choices": [], "usage": {"prompt_tokens": 1}"#))
        #expect(!readBroken)
    }
}

extension Array where Element == UInt8 {
    init(buffer: ByteBuffer) { self = buffer.getBytes(at: buffer.readerIndex, length: buffer.readableBytes) ?? [] }
}
