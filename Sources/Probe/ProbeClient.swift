import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Talks to an upstream the way the batch import checks it: `/v1/models`, a minimal chat completion, `/v1/responses`
/// and a streamed chat. Pure results (no writes); keys never appear in a result.
public struct ProbeClient: Sendable {
    let client: HTTPClient
    let timeout: Duration

    public init(client: HTTPClient = .shared, timeout: Duration = .seconds(20)) {
        self.client = client
        self.timeout = timeout
    }

    /// The `anthropic-version` every Anthropic-style call sends.
    static let anthropicVersion = "2023-06-01"

    /// `GET {base}/v1/models`: the listed model ids. `anthropic`: an Anthropic-type upstream's listing, which also
    /// carries Anthropic's key header and version beside the bearer key (resellers differ in which one they read).
    public func models(baseURL: String, key: String, anthropic: Bool = false, headers: [(String, String)] = []) async -> ModelsProbe {
        let dialect = anthropic ? [("x-api-key", key), ("anthropic-version", Self.anthropicVersion)] : []
        let (step, body) = await call("models", .GET, UpstreamText.url(baseURL, "/v1/models"), key: key, body: nil, headers: dialect + headers)
        guard step.classification == .ok else { return ModelsProbe(step: step, models: []) }
        guard let json = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
              let data = json["data"] as? [[String: Any]] else {
            return ModelsProbe(step: step.with(.notOpenAICompatible, "models answer is not an OpenAI model list"), models: [])
        }
        return ModelsProbe(step: step, models: data.compactMap { $0["id"] as? String })
    }

    /// A one-token chat completion with `model`.
    public func chat(baseURL: String, key: String, model: String, step name: String = "chat", headers: [(String, String)] = []) async -> ProbeStep {
        let body: [String: Any] = ["model": model, "max_tokens": 1, "messages": [["role": "user", "content": "ping"]]]
        let (step, text) = await call(name, .POST, UpstreamText.url(baseURL, "/v1/chat/completions"), key: key, body: body, headers: headers)
        guard step.classification == .ok else { return step }
        guard let json = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], json["choices"] is [Any] else {
            return step.with(.notOpenAICompatible, "chat answer is not a chat completion")
        }
        return step
    }

    /// A minimal `/v1/responses` call.
    public func responses(baseURL: String, key: String, model: String) async -> ProbeStep {
        let body: [String: Any] = ["model": model, "input": "ping", "max_output_tokens": 16]
        let (step, text) = await call("responses", .POST, UpstreamText.url(baseURL, "/v1/responses"), key: key, body: body)
        guard step.classification == .ok else { return step }
        guard let json = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], json["output"] != nil else {
            return step.with(.notOpenAICompatible, "responses answer has no output")
        }
        return step
    }

    /// A streamed chat: OK when SSE data arrives and the stream ends.
    public func stream(baseURL: String, key: String, model: String) async -> ProbeStep {
        let body: [String: Any] = ["model": model, "max_tokens": 1, "stream": true, "messages": [["role": "user", "content": "ping"]]]
        let (step, text) = await call("stream", .POST, UpstreamText.url(baseURL, "/v1/chat/completions"), key: key, body: body)
        guard step.classification == .ok else { return step }
        guard text.contains("data:") else { return step.with(.notOpenAICompatible, "stream answer is not server-sent events") }
        return step
    }

    /// A chat completion offering one tool: OK when the upstream accepts tool definitions.
    public func tools(baseURL: String, key: String, model: String) async -> ProbeStep {
        let tool: [String: Any] = ["type": "function", "function": [
            "name": "ping", "description": "Answers pong.", "parameters": ["type": "object", "properties": [String: Any]()],
        ] as [String: Any]]
        let body: [String: Any] = ["model": model, "max_tokens": 16, "tools": [tool], "messages": [["role": "user", "content": "ping"]]]
        let (step, text) = await call("tools", .POST, UpstreamText.url(baseURL, "/v1/chat/completions"), key: key, body: body)
        guard step.classification == .ok else { return step }
        guard let json = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], json["choices"] is [Any] else {
            return step.with(.notOpenAICompatible, "tools answer is not a chat completion")
        }
        return step
    }

    /// A one-token Anthropic `/v1/messages` call (`x-api-key`): OK when the upstream also speaks Anthropic's format.
    public func messages(baseURL: String, key: String, model: String) async -> ProbeStep {
        let body: [String: Any] = ["model": model, "max_tokens": 1, "messages": [["role": "user", "content": "ping"]]]
        let (step, text) = await call("messages", .POST, UpstreamText.url(baseURL, "/v1/messages"), key: key, body: body,
                                      headers: [("anthropic-version", Self.anthropicVersion)], anthropic: true)
        guard step.classification == .ok else { return step }
        guard let json = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], json["content"] is [Any] else {
            return step.with(.notOpenAICompatible, "messages answer is not an Anthropic message")
        }
        return step
    }

    private func call(_ name: String, _ method: HTTPMethod, _ url: String, key: String, body: [String: Any]?,
                      headers: [(String, String)] = [], anthropic: Bool = false) async -> (ProbeStep, String) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: anthropic ? "x-api-key" : "authorization", value: anthropic ? key : "Bearer \(key)")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body, let data = try? JSONSerialization.data(withJSONObject: body) {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: data))
        }
        let started = ContinuousClock.now
        let elapsed = { (ContinuousClock.now - started).milliseconds }
        do {
            let response = try await client.execute(request, timeout: .nanoseconds(timeout.nanoseconds))
            let bytes = try await response.body.collect(upTo: 4 << 20)
            let text = String(buffer: bytes)
            let status = Int(response.status.code)
            let classification = ProbeClassifier.classify(status: status, body: text)
            let retryAfter = response.headers.first(name: "retry-after").flatMap { Int($0) }
            let detail = classification == .ok ? nil : UpstreamText.redact(UpstreamText.errorMessage(text) ?? "HTTP \(status)", key: key)
            return (ProbeStep(step: name, status: status, latencyMs: elapsed(), classification: classification,
                              retryAfter: retryAfter, detail: detail), text)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            return (ProbeStep(step: name, status: 0, latencyMs: elapsed(), classification: .timeout, detail: "no answer in time"), "")
        } catch {
            return (ProbeStep(step: name, status: 0, latencyMs: elapsed(), classification: .unreachable,
                              detail: UpstreamText.redact(String("\(error)".prefix(200)), key: key)), "")
        }
    }
}

extension ProbeStep {
    func with(_ classification: ProbeClassification, _ detail: String) -> ProbeStep {
        var copy = self
        copy.classification = classification
        copy.detail = detail
        return copy
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
