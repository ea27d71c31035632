import Foundation

/// Converts Anthropic Messages requests into OpenAI chat requests and OpenAI answers back, so an
/// `/anthropic/v1/messages` client can be served by an OpenAI-type channel.
enum AnthropicBridge {
    // MARK: Request

    /// The OpenAI chat body for an Anthropic Messages body.
    static func chatRequest(_ body: [String: Any], upstreamModel: String) -> [String: Any] {
        var messages: [[String: Any]] = []
        if let system = text(of: body["system"]), !system.isEmpty { messages.append(["role": "system", "content": system]) }
        for message in body["messages"] as? [[String: Any]] ?? [] {
            let role = message["role"] as? String ?? "user"
            guard let blocks = message["content"] as? [[String: Any]] else {
                messages.append(["role": role, "content": message["content"] as? String ?? ""])
                continue
            }
            if role == "assistant" {
                messages.append(assistantMessage(blocks))
            } else {
                messages += userMessages(blocks)
            }
        }
        var chat: [String: Any] = ["model": upstreamModel, "messages": messages]
        if let maxTokens = body["max_tokens"] { chat["max_tokens"] = maxTokens }
        for key in ["temperature", "top_p"] { if let value = body[key] { chat[key] = value } }
        if let stop = body["stop_sequences"] { chat["stop"] = stop }
        if let user = (body["metadata"] as? [String: Any])?["user_id"] { chat["user"] = user }
        if let tools = body["tools"] as? [[String: Any]] {
            chat["tools"] = tools.map { tool -> [String: Any] in
                var function: [String: Any] = ["name": tool["name"] ?? "", "parameters": tool["input_schema"] ?? ["type": "object"]]
                if let description = tool["description"] { function["description"] = description }
                return ["type": "function", "function": function]
            }
        }
        if let choice = body["tool_choice"] as? [String: Any] {
            switch choice["type"] as? String {
            case "any": chat["tool_choice"] = "required"
            case "none": chat["tool_choice"] = "none"
            case "tool": chat["tool_choice"] = ["type": "function", "function": ["name": choice["name"] ?? ""]]
            default: chat["tool_choice"] = "auto"
            }
        }
        if body["stream"] as? Bool == true {
            chat["stream"] = true
            chat["stream_options"] = ["include_usage": true]
        }
        return chat
    }

    /// Tool results become `tool` messages (they answer the previous assistant turn); the rest one user message.
    private static func userMessages(_ blocks: [[String: Any]]) -> [[String: Any]] {
        var tools: [[String: Any]] = []
        var parts: [[String: Any]] = []
        for block in blocks {
            switch block["type"] as? String {
            case "tool_result":
                var content = text(of: block["content"]) ?? ""
                if block["is_error"] as? Bool == true { content = "Error: " + content }
                tools.append(["role": "tool", "tool_call_id": block["tool_use_id"] ?? "", "content": content])
            case "image":
                if let source = block["source"] as? [String: Any] {
                    let url = source["type"] as? String == "url"
                        ? source["url"] as? String ?? ""
                        : "data:\(source["media_type"] as? String ?? "image/png");base64,\(source["data"] as? String ?? "")"
                    parts.append(["type": "image_url", "image_url": ["url": url]])
                }
            default:
                if let text = block["text"] as? String { parts.append(["type": "text", "text": text]) }
            }
        }
        var messages = tools
        if parts.count == 1, parts[0]["type"] as? String == "text" {
            messages.append(["role": "user", "content": parts[0]["text"] ?? ""])
        } else if !parts.isEmpty {
            messages.append(["role": "user", "content": parts])
        }
        return messages
    }

    private static func assistantMessage(_ blocks: [[String: Any]]) -> [String: Any] {
        var text = ""
        var calls: [[String: Any]] = []
        for block in blocks {
            switch block["type"] as? String {
            case "text": text += block["text"] as? String ?? ""
            case "tool_use":
                calls.append(["id": block["id"] ?? "", "type": "function",
                              "function": ["name": block["name"] ?? "", "arguments": jsonText(block["input"] ?? [:])]])
            default: break
            }
        }
        var message: [String: Any] = ["role": "assistant", "content": text.isEmpty && !calls.isEmpty ? NSNull() : text]
        if !calls.isEmpty { message["tool_calls"] = calls }
        return message
    }

    /// A string, or the text blocks of a content array joined.
    static func text(of value: Any?) -> String? {
        if let string = value as? String { return string }
        guard let blocks = value as? [[String: Any]] else { return nil }
        return blocks.compactMap { $0["type"] as? String == "text" ? $0["text"] as? String : nil }.joined(separator: "\n")
    }

    static func jsonText(_ value: Any) -> String {
        guard JSONSerialization.isValidJSONObject(value),
              let data = try? JSONSerialization.data(withJSONObject: value, options: [.withoutEscapingSlashes]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    // MARK: Response

    static func stopReason(_ finish: String?) -> String {
        switch finish {
        case "length": "max_tokens"
        case "tool_calls", "function_call": "tool_use"
        default: "end_turn"
        }
    }

    /// The Anthropic message for an OpenAI chat completion.
    static func message(from chat: [String: Any], model: String) -> [String: Any] {
        let choice = (chat["choices"] as? [[String: Any]])?.first ?? [:]
        let message = choice["message"] as? [String: Any] ?? [:]
        var content: [[String: Any]] = []
        if let text = message["content"] as? String, !text.isEmpty { content.append(["type": "text", "text": text]) }
        for call in message["tool_calls"] as? [[String: Any]] ?? [] {
            let function = call["function"] as? [String: Any] ?? [:]
            let arguments = (function["arguments"] as? String).flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) } ?? [:]
            content.append(["type": "tool_use", "id": call["id"] ?? "toolu_\(content.count)", "name": function["name"] ?? "", "input": arguments])
        }
        let usage = chat["usage"] as? [String: Any] ?? [:]
        return ["id": "msg_" + ((chat["id"] as? String) ?? "switchyard"), "type": "message", "role": "assistant", "model": model,
                "content": content, "stop_reason": stopReason(choice["finish_reason"] as? String), "stop_sequence": NSNull(),
                "usage": ["input_tokens": usage["prompt_tokens"] ?? 0, "output_tokens": usage["completion_tokens"] ?? 0]]
    }

    /// An OpenAI error body as an Anthropic error body (keeping the upstream's message).
    static func error(fromOpenAI body: String, status: Int) -> [String: Any] {
        let json = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        let message = (json?["error"] as? [String: Any])?["message"] as? String ?? "upstream answered \(status)"
        return ["type": "error", "error": ["type": status == 429 ? "rate_limit_error" : "invalid_request_error", "message": message]]
    }
}
