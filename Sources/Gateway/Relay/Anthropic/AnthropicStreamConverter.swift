import Foundation
import NIOCore
import Wire

/// Turns an OpenAI chat-completion SSE stream into Anthropic's event sequence:
/// `message_start`, then per content block `content_block_start` / `_delta` / `_stop`, then `message_delta`
/// (stop reason and usage) and `message_stop`.
struct AnthropicStreamConverter {
    let model: String
    private var reader = SSEReader()
    private var started = false
    private var finished = false
    private var blockIndex = -1
    private var openBlock: Kind?
    private var toolBlocks: [Int: Int] = [:]  // OpenAI tool-call index → Anthropic block index
    private var stopReason = "end_turn"
    private var inputTokens = 0
    private var outputTokens = 0
    private var messageId = "msg_switchyard"

    private enum Kind: Equatable { case text, tool(Int) }

    init(model: String) { self.model = model }

    /// Converts the complete events in `chunk` (a partial event waits for its end).
    mutating func feed(_ chunk: ByteBuffer) -> ByteBuffer {
        reader.append(chunk)
        var out = ByteBuffer()
        while let event = reader.next() {
            guard let data = event.data else { continue }
            if event.dataIs("[DONE]") { out.writeString(finish()); continue }
            guard let json = try? JSONSerialization.jsonObject(with: Data(buffer: data)) as? [String: Any] else { continue }
            out.writeString(convert(json))
        }
        return out
    }

    /// Closes the message if the upstream ended without `[DONE]` but cleanly.
    mutating func finish() -> String {
        guard started, !finished else { return "" }
        finished = true
        var out = closeBlock()
        out += event("message_delta", ["type": "message_delta", "delta": ["stop_reason": stopReason, "stop_sequence": NSNull()],
                                        "usage": ["input_tokens": inputTokens, "output_tokens": outputTokens]])
        out += event("message_stop", ["type": "message_stop"])
        return out
    }

    private mutating func convert(_ chunk: [String: Any]) -> String {
        var out = ""
        if !started {
            started = true
            if let id = chunk["id"] as? String { messageId = "msg_" + id }
            out += event("message_start", ["type": "message_start", "message": [
                "id": messageId, "type": "message", "role": "assistant", "model": model, "content": [],
                "stop_reason": NSNull(), "stop_sequence": NSNull(), "usage": ["input_tokens": 0, "output_tokens": 0]]])
        }
        if let usage = chunk["usage"] as? [String: Any] {
            inputTokens = Self.count(usage["prompt_tokens"]) ?? inputTokens
            outputTokens = Self.count(usage["completion_tokens"]) ?? outputTokens
        }
        guard let choice = (chunk["choices"] as? [[String: Any]])?.first else { return out }
        let delta = choice["delta"] as? [String: Any] ?? [:]
        if let text = delta["content"] as? String, !text.isEmpty {
            if openBlock != .text {
                out += closeBlock()
                out += openNewBlock(.text, ["type": "text", "text": ""])
            }
            out += event("content_block_delta", ["type": "content_block_delta", "index": blockIndex,
                                                  "delta": ["type": "text_delta", "text": text]])
        }
        for call in delta["tool_calls"] as? [[String: Any]] ?? [] {
            let toolIndex = call["index"] as? Int ?? 0
            let function = call["function"] as? [String: Any] ?? [:]
            if toolBlocks[toolIndex] == nil {
                out += closeBlock()
                out += openNewBlock(.tool(toolIndex), ["type": "tool_use", "id": call["id"] ?? "toolu_\(toolIndex)",
                                                       "name": function["name"] ?? "", "input": [String: Any]()])
                toolBlocks[toolIndex] = blockIndex
            }
            if let arguments = function["arguments"] as? String, !arguments.isEmpty, let index = toolBlocks[toolIndex] {
                out += event("content_block_delta", ["type": "content_block_delta", "index": index,
                                                      "delta": ["type": "input_json_delta", "partial_json": arguments]])
            }
        }
        if let finish = choice["finish_reason"] as? String {
            stopReason = AnthropicBridge.stopReason(finish)
            out += closeBlock()
        }
        return out
    }

    /// A token count as JSON gives it (`12` or `12.0`).
    private static func count(_ value: Any?) -> Int? { (value as? NSNumber).flatMap { Int(exactly: $0.doubleValue) } }

    private mutating func openNewBlock(_ kind: Kind, _ block: [String: Any]) -> String {
        blockIndex += 1
        openBlock = kind
        return event("content_block_start", ["type": "content_block_start", "index": blockIndex, "content_block": block])
    }

    private mutating func closeBlock() -> String {
        guard openBlock != nil else { return "" }
        openBlock = nil
        return event("content_block_stop", ["type": "content_block_stop", "index": blockIndex])
    }

    private func event(_ name: String, _ payload: [String: Any]) -> String {
        "event: \(name)\ndata: \(AnthropicBridge.jsonText(payload))\n\n"
    }
}
