import Foundation

/// The canned answers of the mock upstream, in OpenAI's and Anthropic's wire formats.
enum MockBodies {
    static let words = ["Hello", " from", " the", " mock", " upstream", "."]
    static var text: String { words.joined() }

    /// A deterministic prompt token count: one token per 4 characters of message text, at least 1.
    static func promptTokens(_ body: [String: Any]) -> Int {
        let source = body["messages"] ?? body["input"] ?? ""
        if let text = source as? String { return max(1, text.utf8.count / 4) }
        guard JSONSerialization.isValidJSONObject(source), let data = try? JSONSerialization.data(withJSONObject: source) else { return 1 }
        return max(1, data.count / 4)
    }

    /// The style of the answer being rendered: the script's, or a matching fault's. Task-local because it belongs to one
    /// answer and every body builder below renders with it; passing it through each would change nothing but their
    /// signatures.
    @TaskLocal static var style = MockStyle.compact

    static func json(_ object: Any) -> String { style.json(object) }

    /// The first declared tool, when the conversation asks for a tool call (last message from the user).
    static func toolToCall(_ body: [String: Any], anthropic: Bool) -> String? {
        guard let tools = body["tools"] as? [[String: Any]], let first = tools.first,
              let messages = body["messages"] as? [[String: Any]], let last = messages.last else { return nil }
        if anthropic {
            guard last["role"] as? String == "user" else { return nil }
            if let blocks = last["content"] as? [[String: Any]], blocks.contains(where: { $0["type"] as? String == "tool_result" }) { return nil }
            return first["name"] as? String
        }
        guard last["role"] as? String == "user" else { return nil }
        return (first["function"] as? [String: Any])?["name"] as? String
    }

    // MARK: OpenAI chat

    static func chatCompletion(model: String, prompt: Int, tool: String?) -> String {
        var message: [String: Any] = ["role": "assistant", "content": tool == nil ? text : NSNull()]
        if let tool {
            message["tool_calls"] = [["id": "call_mock_1", "type": "function", "function": ["name": tool, "arguments": #"{"city":"Paris"}"#]]]
        }
        return json([
            "id": "chatcmpl-mock", "object": "chat.completion", "created": 1_700_000_000, "model": model,
            "choices": [["index": 0, "message": message, "finish_reason": tool == nil ? "stop" : "tool_calls"]],
            "usage": ["prompt_tokens": prompt, "completion_tokens": words.count, "total_tokens": prompt + words.count],
        ])
    }

    /// A chat chunk; `nullUsage` adds `"usage": null`, as OpenAI does on every chunk when usage was asked for.
    static func chatChunk(model: String, delta: [String: Any], finish: String?, nullUsage: Bool = false) -> String {
        var chunk: [String: Any] = ["id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": model,
                                    "choices": [["index": 0, "delta": delta, "finish_reason": finish.map { $0 as Any } ?? NSNull()]]]
        if nullUsage { chunk["usage"] = NSNull() }
        return json(chunk)
    }

    static func chatUsageChunk(model: String, prompt: Int) -> String {
        json(["id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": model, "choices": [],
              "usage": ["prompt_tokens": prompt, "completion_tokens": words.count, "total_tokens": prompt + words.count]])
    }

    // MARK: OpenAI responses and embeddings

    static func response(model: String, prompt: Int) -> [String: Any] {
        ["id": "resp_mock", "object": "response", "created_at": 1_700_000_000, "model": model, "status": "completed",
         "output": [["type": "message", "id": "msg_mock", "role": "assistant", "status": "completed",
                     "content": [["type": "output_text", "text": text, "annotations": []]]]],
         "usage": ["input_tokens": prompt, "output_tokens": words.count, "total_tokens": prompt + words.count]]
    }

    static func embeddings(model: String, inputs: Int, prompt: Int) -> String {
        json(["object": "list", "model": model,
              "data": (0..<inputs).map { ["object": "embedding", "index": $0, "embedding": [0.1, 0.2, 0.3, 0.4]] },
              "usage": ["prompt_tokens": prompt, "total_tokens": prompt]])
    }

    // MARK: Anthropic messages

    static func message(model: String, prompt: Int, tool: String?) -> String {
        let content: [[String: Any]] = tool.map { [["type": "tool_use", "id": "toolu_mock_1", "name": $0, "input": ["city": "Paris"]]] }
            ?? [["type": "text", "text": text]]
        return json(["id": "msg_mock", "type": "message", "role": "assistant", "model": model, "content": content,
                     "stop_reason": tool == nil ? "end_turn" : "tool_use", "stop_sequence": NSNull(),
                     "usage": ["input_tokens": prompt, "output_tokens": words.count]])
    }

    static func sse(event: String?, _ data: String) -> String { style.sse(event: event, data) }

    static func error(status: Int, anthropic: Bool, message: String) -> String {
        anthropic
            ? json(["type": "error", "error": ["type": anthropicType(status), "message": message]])
            : json(["error": ["message": message, "type": openAIType(status), "code": NSNull(), "param": NSNull()]])
    }

    static func openAIType(_ status: Int) -> String {
        switch status {
        case 401: "invalid_request_error"
        case 403: "permission_denied"
        case 429: "rate_limit_exceeded"
        case 500...: "server_error"
        default: "invalid_request_error"
        }
    }

    static func anthropicType(_ status: Int) -> String {
        switch status {
        case 401: "authentication_error"
        case 403: "permission_error"
        case 404: "not_found_error"
        case 429: "rate_limit_error"
        case 529: "overloaded_error"
        case 500...: "api_error"
        default: "invalid_request_error"
        }
    }
}
