import Foundation
import Testing

@testable import Gateway

@Suite struct AnthropicBridgeTests {
    @Test func requestConversionCoversSystemImagesToolsAndChoices() {
        let body: [String: Any] = [
            "model": "claude", "max_tokens": 100, "temperature": 0.5, "stop_sequences": ["END"], "stream": true,
            "system": [["type": "text", "text": "Be brief."], ["type": "text", "text": "Be kind."]],
            "metadata": ["user_id": "u-1"],
            "tools": [["name": "t", "description": "d", "input_schema": ["type": "object"]]],
            "tool_choice": ["type": "tool", "name": "t"],
            "messages": [
                ["role": "user", "content": [["type": "text", "text": "look"],
                                             ["type": "image", "source": ["type": "base64", "media_type": "image/png", "data": "AAA"]]]],
                ["role": "assistant", "content": [["type": "text", "text": "calling"],
                                                  ["type": "tool_use", "id": "c1", "name": "t", "input": ["a": 1]]]],
                ["role": "user", "content": [["type": "tool_result", "tool_use_id": "c1", "content": [["type": "text", "text": "done"]], "is_error": true]]],
            ],
        ]
        let chat = AnthropicBridge.chatRequest(body, upstreamModel: "gpt-x")
        #expect(chat["model"] as? String == "gpt-x" && chat["max_tokens"] as? Int == 100 && chat["user"] as? String == "u-1")
        #expect(chat["stop"] as? [String] == ["END"] && chat["stream"] as? Bool == true)
        #expect((chat["stream_options"] as? [String: Any])?["include_usage"] as? Bool == true)
        let messages = chat["messages"] as! [[String: Any]]
        #expect(messages.map { $0["role"] as? String } == ["system", "user", "assistant", "tool"])
        #expect(messages[0]["content"] as? String == "Be brief.\nBe kind.")
        let parts = messages[1]["content"] as! [[String: Any]]
        #expect((parts[1]["image_url"] as? [String: Any])?["url"] as? String == "data:image/png;base64,AAA")
        let call = (messages[2]["tool_calls"] as! [[String: Any]])[0]
        #expect((call["function"] as? [String: Any])?["arguments"] as? String == #"{"a":1}"#)
        #expect(messages[3]["tool_call_id"] as? String == "c1" && messages[3]["content"] as? String == "Error: done")
        #expect(((chat["tool_choice"] as? [String: Any])?["function"] as? [String: Any])?["name"] as? String == "t")
        let tool = (chat["tools"] as! [[String: Any]])[0]["function"] as! [String: Any]
        #expect(tool["name"] as? String == "t" && tool["description"] as? String == "d")
    }

    @Test func stopReasonsAndErrors() {
        #expect(AnthropicBridge.stopReason("length") == "max_tokens")
        #expect(AnthropicBridge.stopReason("tool_calls") == "tool_use")
        #expect(AnthropicBridge.stopReason("stop") == "end_turn")
        let error = AnthropicBridge.error(fromOpenAI: #"{"error":{"message":"bad field"}}"#, status: 400)
        #expect(error["type"] as? String == "error" && (error["error"] as? [String: Any])?["message"] as? String == "bad field")
    }
}
