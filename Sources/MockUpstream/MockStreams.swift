import Foundation

/// The SSE event sequences of the mock upstream.
enum MockStreams {
    struct Events {
        var list: [String]
        /// The index of the first event that carries output.
        var firstTokenIndex: Int
    }

    static func chat(model: String, prompt: Int, tool: String?, includeUsage: Bool) -> Events {
        let nullUsage = includeUsage && MockBodies.style.nullUsageOnChunks
        var list = [MockBodies.sse(event: nil, MockBodies.chatChunk(model: model, delta: ["role": "assistant", "content": ""], finish: nil, nullUsage: nullUsage))]
        if let tool {
            list.append(MockBodies.sse(event: nil, MockBodies.chatChunk(model: model, delta: ["tool_calls": [[
                "index": 0, "id": "call_mock_1", "type": "function", "function": ["name": tool, "arguments": ""]]]], finish: nil, nullUsage: nullUsage)))
            for part in [#"{"city":"#, #""Paris"}"#] {
                list.append(MockBodies.sse(event: nil, MockBodies.chatChunk(model: model, delta: ["tool_calls": [[
                    "index": 0, "function": ["arguments": part]]]], finish: nil, nullUsage: nullUsage)))
            }
        } else {
            for word in MockBodies.words {
                list.append(MockBodies.sse(event: nil, MockBodies.chatChunk(model: model, delta: ["content": word], finish: nil, nullUsage: nullUsage)))
            }
        }
        list.append(MockBodies.sse(event: nil, MockBodies.chatChunk(model: model, delta: [:], finish: tool == nil ? "stop" : "tool_calls", nullUsage: nullUsage)))
        if includeUsage { list.append(MockBodies.sse(event: nil, MockBodies.chatUsageChunk(model: model, prompt: prompt))) }
        list.append(MockBodies.sse(event: nil, "[DONE]"))
        return Events(list: list, firstTokenIndex: 1)
    }

    static func responses(model: String, prompt: Int) -> Events {
        var created = MockBodies.response(model: model, prompt: prompt)
        created["status"] = "in_progress"
        created["output"] = []
        var list = [MockBodies.sse(event: "response.created", MockBodies.json(["type": "response.created", "response": created]))]
        for word in MockBodies.words {
            list.append(MockBodies.sse(event: "response.output_text.delta", MockBodies.json([
                "type": "response.output_text.delta", "item_id": "msg_mock", "output_index": 0, "content_index": 0, "delta": word])))
        }
        list.append(MockBodies.sse(event: "response.completed", MockBodies.json([
            "type": "response.completed", "response": MockBodies.response(model: model, prompt: prompt)])))
        return Events(list: list, firstTokenIndex: 1)
    }

    static func messages(model: String, prompt: Int, tool: String?) -> Events {
        let start: [String: Any] = ["type": "message_start", "message": [
            "id": "msg_mock", "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": NSNull(), "stop_sequence": NSNull(), "usage": ["input_tokens": prompt, "output_tokens": 1]]]
        var list = [MockBodies.sse(event: "message_start", MockBodies.json(start))]
        if let tool {
            list.append(MockBodies.sse(event: "content_block_start", MockBodies.json([
                "type": "content_block_start", "index": 0,
                "content_block": ["type": "tool_use", "id": "toolu_mock_1", "name": tool, "input": [:] as [String: Any]]])))
            for part in [#"{"city":"#, #""Paris"}"#] {
                list.append(MockBodies.sse(event: "content_block_delta", MockBodies.json([
                    "type": "content_block_delta", "index": 0, "delta": ["type": "input_json_delta", "partial_json": part]])))
            }
        } else {
            list.append(MockBodies.sse(event: "content_block_start", MockBodies.json([
                "type": "content_block_start", "index": 0, "content_block": ["type": "text", "text": ""]])))
            for word in MockBodies.words {
                list.append(MockBodies.sse(event: "content_block_delta", MockBodies.json([
                    "type": "content_block_delta", "index": 0, "delta": ["type": "text_delta", "text": word]])))
            }
        }
        list.append(MockBodies.sse(event: "content_block_stop", MockBodies.json(["type": "content_block_stop", "index": 0])))
        list.append(MockBodies.sse(event: "message_delta", MockBodies.json([
            "type": "message_delta", "delta": ["stop_reason": tool == nil ? "end_turn" : "tool_use", "stop_sequence": NSNull()],
            "usage": ["output_tokens": MockBodies.words.count]])))
        list.append(MockBodies.sse(event: "message_stop", MockBodies.json(["type": "message_stop"])))
        return Events(list: list, firstTokenIndex: 2)
    }
}
