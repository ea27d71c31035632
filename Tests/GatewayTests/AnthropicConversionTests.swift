import GatewayFixtures
import Foundation
import Gateway
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import TestSupport

/// `/anthropic/v1/messages` served by an OpenAI channel: converted both ways, streaming included.
@Suite struct AnthropicConversionTests {
    nonisolated(unsafe) static let tools: [[String: Any]] = [["name": "get_weather", "description": "Weather of a city",
                                   "input_schema": ["type": "object", "properties": ["city": ["type": "string"]]]]]

    static func headers(_ f: RelayFixture) -> HTTPFields { [.init("x-api-key")!: f.clientKey, .contentType: "application/json"] }

    /// Parses an SSE body into (event, data) pairs.
    static func events(_ text: String) -> [(String, [String: Any])] {
        text.components(separatedBy: "\n\n").compactMap { block in
            let lines = block.split(separator: "\n")
            guard let name = lines.first(where: { $0.hasPrefix("event: ") })?.dropFirst(7),
                  let data = lines.first(where: { $0.hasPrefix("data: ") })?.dropFirst(6),
                  let json = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any] else { return nil }
            return (String(name), json)
        }
    }

    @Test(arguments: Engine.allCases) func textAndToolUseJSON(_ engine: Engine) async throws {
        let f = try await RelayFixture(engine)
        try await f.test { client in
            _ = try await f.setUp(client, channels: [["models": ["claude-via-openai"], "model_mapping": ["claude-via-openai": "gpt-4o-mini"]]])
            let plain = try await f.post(client, "/anthropic/v1/messages", [
                "model": "claude-via-openai", "max_tokens": 64, "system": "Be brief.",
                "messages": [["role": "user", "content": [["type": "text", "text": "hi"]]]]], headers: Self.headers(f))
            #expect(plain.status == .ok)
            let message = jsonObject(plain)
            #expect(message["type"] as? String == "message" && message["role"] as? String == "assistant")
            #expect(message["model"] as? String == "claude-via-openai")
            #expect(message["stop_reason"] as? String == "end_turn")
            #expect((message["content"] as? [[String: Any]])?.first?["text"] as? String == "Hello from the mock upstream.")
            let usage = message["usage"] as? [String: Any]
            #expect((usage?["output_tokens"] as? Int) == 6 && ((usage?["input_tokens"] as? Int) ?? 0) > 0)

            let tool = jsonObject(try await f.post(client, "/anthropic/v1/messages", [
                "model": "claude-via-openai", "max_tokens": 64, "tools": Self.tools,
                "messages": [["role": "user", "content": "Weather in Paris?"]]], headers: Self.headers(f)))
            #expect(tool["stop_reason"] as? String == "tool_use")
            let block = (tool["content"] as? [[String: Any]])?.first
            #expect(block?["type"] as? String == "tool_use" && block?["name"] as? String == "get_weather")
            #expect((block?["input"] as? [String: Any])?["city"] as? String == "Paris")

            // The tool result goes back as an OpenAI `tool` message; the mock then answers with text.
            let answer = jsonObject(try await f.post(client, "/anthropic/v1/messages", [
                "model": "claude-via-openai", "max_tokens": 64, "tools": Self.tools,
                "messages": [
                    ["role": "user", "content": "Weather in Paris?"],
                    ["role": "assistant", "content": [["type": "tool_use", "id": "call_mock_1", "name": "get_weather", "input": ["city": "Paris"]]]],
                    ["role": "user", "content": [["type": "tool_result", "tool_use_id": "call_mock_1", "content": "Sunny"]]],
                ]], headers: Self.headers(f)))
            #expect((answer["content"] as? [[String: Any]])?.first?["type"] as? String == "text")
            let (logs, _) = try await f.flushed()
            #expect(logs.count == 3 && logs.allSatisfy { $0.model == "claude-via-openai" })
        }
    }

    @Test(arguments: Engine.allCases) func streamingTextAndToolUse(_ engine: Engine) async throws {
        let f = try await RelayFixture(engine)
        try await f.test { client in
            _ = try await f.setUp(client, channels: [["models": ["gpt-4o-mini"]]])
            let text = String(buffer: try await f.post(client, "/anthropic/v1/messages", [
                "model": "gpt-4o-mini", "max_tokens": 64, "stream": true,
                "messages": [["role": "user", "content": "hi"]]], headers: Self.headers(f)).body)
            let names = Self.events(text).map(\.0)
            #expect(names.first == "message_start" && names.last == "message_stop")
            #expect(names.contains("content_block_start") && names.contains("content_block_stop") && names.contains("message_delta"))
            let deltas = Self.events(text).filter { $0.0 == "content_block_delta" }
                .compactMap { ($0.1["delta"] as? [String: Any])?["text"] as? String }.joined()
            #expect(deltas == "Hello from the mock upstream.")
            let messageDelta = Self.events(text).first { $0.0 == "message_delta" }?.1
            #expect((messageDelta?["usage"] as? [String: Any])?["output_tokens"] as? Int == 6)
            #expect((messageDelta?["delta"] as? [String: Any])?["stop_reason"] as? String == "end_turn")

            let tool = String(buffer: try await f.post(client, "/anthropic/v1/messages", [
                "model": "gpt-4o-mini", "max_tokens": 64, "stream": true, "tools": Self.tools,
                "messages": [["role": "user", "content": "Weather?"]]], headers: Self.headers(f)).body)
            let start = Self.events(tool).first { $0.0 == "content_block_start" }?.1["content_block"] as? [String: Any]
            #expect(start?["type"] as? String == "tool_use" && start?["name"] as? String == "get_weather")
            let json = Self.events(tool).filter { $0.0 == "content_block_delta" }
                .compactMap { ($0.1["delta"] as? [String: Any])?["partial_json"] as? String }.joined()
            #expect(json == #"{"city":"Paris"}"#)
            let stop = Self.events(tool).first { $0.0 == "message_delta" }?.1["delta"] as? [String: Any]
            #expect(stop?["stop_reason"] as? String == "tool_use")
            let (logs, _) = try await f.flushed()
            #expect(logs.count == 2 && logs.allSatisfy { $0.completionTokens > 0 })
        }
    }
}
