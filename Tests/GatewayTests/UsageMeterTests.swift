import GatewayFixtures
import Foundation
import NIOCore
import Testing

@testable import Gateway

@Suite struct UsageMeterTests {
    @Test func readsOnlyTheTopLevelUsageObject() {
        var meter = UsageMeter(format: .openaiChat)
        let body = #"{"choices":[{"message":{"content":"a \"usage\": {\"prompt_tokens\": 999} b"}}],"usage":{"prompt_tokens":12,"completion_tokens":7,"details":{"x":"}"}}}"#
        let read = meter.readBody(ByteBuffer(string: body))
        #expect(read)
        #expect(meter.promptTokens == 12 && meter.completionTokens == 7 && meter.sawOutput)
        var notJSON = UsageMeter(format: .openaiChat)
        let readHTML = notJSON.readBody(ByteBuffer(string: "<html>oops</html>"))
        #expect(!readHTML)
    }

    @Test func streamEventsSplitAcrossChunksAreMeteredAndTheUsageChunkStripped() {
        var meter = UsageMeter(format: .openaiChat, stripUsageChunk: true)
        let stream = [
            #"data: {"choices":[{"delta":{"role":"assistant","content":""}}]}"#, #"data: {"choices":[{"delta":{"content":"Hi"}}]}"#,
            #"data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1}}"#, "data: [DONE]",
        ].map { $0 + "\n\n" }.joined()
        var forwarded = ""
        // Feed in 7-byte pieces: events straddle every chunk boundary.
        var rest = Substring(stream)
        while !rest.isEmpty {
            let piece = rest.prefix(7)
            rest = rest.dropFirst(7)
            forwarded += String(buffer: meter.feed(ByteBuffer(string: String(piece))))
        }
        forwarded += String(buffer: meter.finish())
        #expect(meter.promptTokens == 3 && meter.completionTokens == 1 && meter.outputEvents == 1)
        #expect(!forwarded.contains("usage") && forwarded.hasSuffix("data: [DONE]\n\n") && forwarded.contains("Hi"))
    }

    @Test func anthropicStreamUsage() {
        var meter = UsageMeter(format: .anthropic)
        let start: String = "event: message_start\n" + #"data: {"type":"message_start","message":{"usage":{"input_tokens":9,"output_tokens":1}}}"#
        let delta: String = "event: content_block_delta\n" + #"data: {"type":"content_block_delta","delta":{"type":"text_delta","text":"x"}}"#
        let end: String = "event: message_delta\n" + #"data: {"type":"message_delta","usage":{"output_tokens":5}}"#
        let events: String = [start, delta, end].map { $0 + "\n\n" }.joined()
        let out = meter.feed(ByteBuffer(string: events))
        #expect(String(buffer: out) == events, "passed through untouched")
        #expect(meter.promptTokens == 9 && meter.completionTokens == 5 && meter.sawOutput)
    }

    @Test func requestProbeAndStreamOptionsSplice() throws {
        let probe = try RequestProbe.read(ByteBuffer(string: #"{"model":"m","stream":true,"messages":[],"stream_options":{"include_usage":false}}"#))
        #expect(probe.model == "m" && probe.stream && probe.streamOptions?.includeUsage == false)
        #expect(probe.keys == ["model", "stream", "messages", "stream_options"])
        #expect(throws: RelayError.self) { try RequestProbe.read(ByteBuffer(string: "[1,2]")) }
        let spliced = try #require(RelayController.spliceIncludeUsage(ByteBuffer(string: #"  {"model":"m"}"#)))
        let json = try JSONSerialization.jsonObject(with: Data(buffer: spliced)) as? [String: Any]
        #expect((json?["stream_options"] as? [String: Any])?["include_usage"] as? Bool == true && json?["model"] as? String == "m")
        let empty = try #require(RelayController.spliceIncludeUsage(ByteBuffer(string: "{ }")))
        #expect(String(buffer: empty) == #"{"stream_options":{"include_usage":true} }"#)
    }

    /// The byte scanner reads what Foundation's decoder reads, and leaves the odd bodies to it.
    @Test(arguments: [
        #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello."}],"max_tokens":16}"#,
        #" { "model" : "m" , "stream" : true , "stream_options" : { "include_usage" : true , "x" : [1, -2.5e3, null] } } "#,
        #"{"model":"m","stream":false,"stream_options":{"include_usage":"yes"}}"#,
        #"{"model":"m","stream":1,"stream_options":{"include_usage":null}}"#,
        #"{"model":7,"stream_options":[]}"#,
        #"{"model":null,"messages":[{"content":"caf\u00e9 \"q\" 你好 é"}],"n":0}"#,
        #"{}"#,
    ])
    func requestProbeScannerMatchesFoundation(_ body: String) throws {
        let scanned = try #require(RequestProbe.scan(ByteBuffer(string: body)))
        let decoded = try JSONDecoder().decode(RequestProbe.self, from: Data(body.utf8))
        #expect(scanned.model == decoded.model && scanned.stream == decoded.stream && scanned.keys == decoded.keys)
        #expect(scanned.streamOptions?.includeUsage == decoded.streamOptions?.includeUsage
            && (scanned.streamOptions == nil) == (decoded.streamOptions == nil))
    }

    @Test(arguments: [
        #"{"model":"m",}"#, #"{"model":"m"} x"#, #"{"model":"m\u0041"}"#, #"{"model":"a","model":"b"}"#, #"{"mo\u0064el":"m"}"#,
        #"{"a":01}"#, #"{"a":tru}"#, "{\"a\":\"\u{01}\"}", "[1]", "",
    ])
    func requestProbeScannerLeavesOddBodiesToFoundation(_ body: String) {
        #expect(RequestProbe.scan(ByteBuffer(string: body)) == nil)
    }

    @Test func usageScannerMatchesFoundation() {
        for (usage, prompt, completion) in [
            (#"{"prompt_tokens":12,"completion_tokens":7,"details":{"prompt_tokens":1}}"#, Int64?(12), Int64?(7)),
            (#"{"input_tokens":3,"output_tokens":4}"#, 3, 4),
            (#"{"prompt_tokens":2.0,"completion_tokens":1}"#, 2, 1),  // not an integer: Foundation reads it
            (#"{"total_tokens":5}"#, nil, nil),
        ] {
            var meter = UsageMeter(format: .openaiChat)
            let read = meter.readBody(ByteBuffer(string: #"{"choices":[],"usage":"# + usage + "}"))
            #expect(read)
            #expect(meter.promptTokens == prompt && meter.completionTokens == completion, "\(usage)")
        }
    }
}
