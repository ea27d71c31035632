import GatewayFixtures
import AsyncHTTPClient
import Foundation
import Gateway
import HTTPTypes
import HummingbirdTesting
import MockUpstream
import NIOCore
import Store
import Testing

/// Streaming billing through the gateway against upstreams that write their JSON and events in every style the
/// mock knows (compact, Python's spaced, pretty multi-line data, CRLF cut mid-event, usage first): tokens metered
/// exactly, the usage chunk removed only when the gateway asked for it, every other byte passed on unchanged.
@Suite struct StreamFormatTests {
    static var price: [String: Any] { ["input_price": 150_000_000, "output_price": 600_000_000] }

    static func cost(_ prompt: Int64, _ completion: Int64) -> Int64 { (prompt * 150_000_000 + completion * 600_000_000 + 999_999) / 1_000_000 }

    /// The same request sent to the mock directly: the bytes an upstream writes, to compare the client's against.
    static func direct(_ f: RelayFixture, _ path: String, _ body: [String: Any], anthropic: Bool = false) async throws -> String {
        var request = HTTPClientRequest(url: f.mock.baseURL + path)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: anthropic ? "x-api-key" : "authorization", value: anthropic ? RelayFixture.upstreamKey : "Bearer \(RelayFixture.upstreamKey)")
        request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        return String(buffer: try await response.body.collect(upTo: 1 << 20))
    }

    /// Splits an SSE text into its events (each with its blank line), for the test's own reading.
    static func events(_ text: String) -> [String] {
        let separator = text.contains("\r\n") ? "\r\n\r\n" : "\n\n"
        return text.components(separatedBy: separator).dropLast().map { $0 + separator }
    }

    /// The JSON of an event's data lines (joined as SSE joins them).
    static func data(_ event: String) -> [String: Any]? {
        let lines = event.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n")
            .filter { $0.hasPrefix("data:") }.map { $0.dropFirst(5).drop(while: { $0 == " " }) }
        return try? JSONSerialization.jsonObject(with: Data(lines.joined(separator: "\n").utf8)) as? [String: Any]
    }

    static func tokens(_ usage: Any?) -> (Int64, Int64)? {
        guard let usage = usage as? [String: Any] else { return nil }
        let count = { (key: String) in (usage[key] as? NSNumber)?.int64Value }
        guard let prompt = count("prompt_tokens") ?? count("input_tokens"), let completion = count("completion_tokens") ?? count("output_tokens") else { return nil }
        return (prompt, completion)
    }

    @Test(arguments: MockStyle.allCases)
    func chatStreams(style: MockStyle) async throws {
        let f = try await RelayFixture(mockStyle: style)
        try await f.test { client in
            _ = try await f.setUp(client)
            try await f.api(client, .put, "/api/models/gpt-4o-mini", Self.price, expect: .ok)
            let upstream = try await Self.direct(f, "/v1/chat/completions", chatBody(stream: true, includeUsage: true))
            let usageEvent = try #require(Self.events(upstream).first { (Self.data($0)?["choices"] as? [Any])?.isEmpty == true })
            let (prompt, completion) = try #require(Self.tokens(Self.data(usageEvent)?["usage"]))
            #expect(completion == 6)

            // The client did not ask for usage: the gateway asked, and takes out that chunk alone.
            let plain = try await f.post(client, "/v1/chat/completions", chatBody(stream: true))
            #expect(plain.status == .ok)
            #expect(String(buffer: plain.body) == upstream.replacingOccurrences(of: usageEvent, with: ""))
            // The client asked: every byte as the upstream wrote it.
            let asked = try await f.post(client, "/v1/chat/completions", chatBody(stream: true, includeUsage: true))
            #expect(String(buffer: asked.body) == upstream)
            // The client asked not to have it: the gateway still meters, and strips.
            let declined = try await f.post(client, "/v1/chat/completions", chatBody(stream: true, includeUsage: false))
            #expect(String(buffer: declined.body) == upstream.replacingOccurrences(of: usageEvent, with: ""))

            let (logs, traces) = try await f.flushed()
            #expect(logs.count == 3)
            #expect(logs.allSatisfy { $0.promptTokens == prompt && $0.completionTokens == completion && $0.cost == Self.cost(prompt, completion) })
            #expect(traces.allSatisfy { $0.stream && $0.promptTokens == prompt && $0.completionTokens == completion })
        }
    }

    @Test(arguments: MockStyle.allCases)
    func responsesAndAnthropicStreamsPassUnchanged(style: MockStyle) async throws {
        let f = try await RelayFixture(mockStyle: style)
        try await f.test { client in
            _ = try await f.setUp(client, channels: [[:], ["type": "anthropic", "models": ["claude-3-5-sonnet-20241022"]]])
            let responsesBody: [String: Any] = ["model": "gpt-4o-mini", "input": "hi", "stream": true]
            let upstreamResponses = try await Self.direct(f, "/v1/responses", responsesBody)
            let completed = try #require(Self.events(upstreamResponses).compactMap(Self.data).first { $0["type"] as? String == "response.completed" })
            let responsesTokens = try #require(Self.tokens((completed["response"] as? [String: Any])?["usage"]))
            let responses = try await f.post(client, "/v1/responses", responsesBody)
            #expect(String(buffer: responses.body) == upstreamResponses)

            let messagesBody: [String: Any] = ["model": "claude-3-5-sonnet-20241022", "max_tokens": 64, "stream": true,
                                               "messages": [["role": "user", "content": "hi"]]]
            let upstreamMessages = try await Self.direct(f, "/v1/messages", messagesBody, anthropic: true)
            let start = try #require(Self.events(upstreamMessages).compactMap(Self.data).first { $0["type"] as? String == "message_start" })
            let inputTokens = try #require(((start["message"] as? [String: Any])?["usage"] as? [String: Any])?["input_tokens"] as? NSNumber)
            let headers: HTTPFields = [.init("x-api-key")!: f.clientKey, .contentType: "application/json"]
            let messages = try await f.post(client, "/anthropic/v1/messages", messagesBody, headers: headers)
            #expect(String(buffer: messages.body) == upstreamMessages)

            let (logs, _) = try await f.flushed()
            #expect(logs.count == 2)
            let byModel = Dictionary(uniqueKeysWithValues: logs.map { ($0.model, $0) })
            #expect(byModel["gpt-4o-mini"]?.promptTokens == responsesTokens.0 && byModel["gpt-4o-mini"]?.completionTokens == responsesTokens.1)
            #expect(byModel["claude-3-5-sonnet-20241022"]?.promptTokens == inputTokens.int64Value
                && byModel["claude-3-5-sonnet-20241022"]?.completionTokens == 6)
        }
    }

    /// An Anthropic client on an OpenAI channel whose stream is written in `style`: converted and metered exactly.
    @Test(arguments: MockStyle.allCases)
    func convertedAnthropicStream(style: MockStyle) async throws {
        let f = try await RelayFixture(mockStyle: style)
        try await f.test { client in
            _ = try await f.setUp(client)
            let headers: HTTPFields = [.init("x-api-key")!: f.clientKey, .contentType: "application/json"]
            let response = try await f.post(client, "/anthropic/v1/messages", [
                "model": "gpt-4o-mini", "max_tokens": 64, "stream": true, "messages": [["role": "user", "content": "hi"]]], headers: headers)
            let events = AnthropicConversionTests.events(String(buffer: response.body))
            let text = events.filter { $0.0 == "content_block_delta" }.compactMap { ($0.1["delta"] as? [String: Any])?["text"] as? String }.joined()
            #expect(text == "Hello from the mock upstream.")
            let usage = try #require(events.first { $0.0 == "message_delta" }?.1["usage"] as? [String: Any])
            let input = try #require(usage["input_tokens"] as? Int)
            #expect(usage["output_tokens"] as? Int == 6 && input > 0)
            let (logs, _) = try await f.flushed()
            #expect(logs.count == 1 && logs.first?.promptTokens == Int64(input) && logs.first?.completionTokens == 6)
        }
    }

    /// Non-stream answers in every style are metered from their usage object.
    @Test(arguments: MockStyle.allCases)
    func wholeAnswers(style: MockStyle) async throws {
        let f = try await RelayFixture(mockStyle: style)
        try await f.test { client in
            _ = try await f.setUp(client)
            let upstream = try JSONSerialization.jsonObject(with: Data(try await Self.direct(f, "/v1/chat/completions", chatBody()).utf8)) as? [String: Any]
            let (prompt, completion) = try #require(Self.tokens(upstream?["usage"]))
            let response = try await f.post(client, "/v1/chat/completions", chatBody())
            #expect(response.status == .ok)
            let (logs, _) = try await f.flushed()
            #expect(logs.count == 1 && logs.first?.promptTokens == prompt && logs.first?.completionTokens == completion)
        }
    }
}
