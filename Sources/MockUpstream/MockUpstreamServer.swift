import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// A real HTTP server speaking the OpenAI and Anthropic wire formats, with faults scripted per key or model.
/// `POST /_mock/faults` replaces the script (a JSON array of rules); `GET /_mock/requests` shows counters.
public struct MockUpstreamServer: Sendable {
    public let script: MockScript

    public init(script: MockScript = MockScript()) { self.script = script }

    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("v1/models") { request, _ in self.models(request) }
        router.post("v1/chat/completions") { request, context in try await self.handle(request, context, path: "/v1/chat/completions") }
        router.post("v1/responses") { request, context in try await self.handle(request, context, path: "/v1/responses") }
        router.post("v1/embeddings") { request, context in try await self.handle(request, context, path: "/v1/embeddings") }
        router.post("v1/messages") { request, context in try await self.handle(request, context, path: "/v1/messages") }
        // An exit node's relay health: 200 unless a fault scripted for its relay key (`key`) says otherwise.
        router.get("health") { request, _ -> Response in
            let key = request.headers[HTTPField.Name("x-relay-key")!]
            self.script.count("GET /health key=\(key ?? "-") ")
            if let fault = self.script.fault(key: key, model: nil), let status = fault.status {
                return Self.respond(status, MockBodies.error(status: status, anthropic: false, message: "mock fault \(status)"))
            }
            return Self.respond(key == nil ? 401 : 200, key == nil ? #"{"error":"missing x-relay-key"}"# : #"{"status":"ok"}"#)
        }
        router.post("_mock/faults") { request, context -> Response in
            self.script.replace(try await request.decode(as: [FaultRule].self, context: context))
            return Response(status: .noContent)
        }
        router.get("_mock/requests") { _, _ in
            Self.respond(200, MockBodies.json(self.script.requests))
        }
        return router
    }

    /// The server as a service, listening on `host:port`.
    public func application(host: String = "127.0.0.1", port: Int, logger: Logger,
                            onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(router: router(), configuration: .init(address: .hostname(host, port: port), serverName: "mock-upstream"),
                    onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) }, logger: logger)
    }

    static func key(_ request: Request) -> String? {
        if let bearer = request.headers[.authorization], bearer.hasPrefix("Bearer ") { return String(bearer.dropFirst(7)) }
        return request.headers[HTTPField.Name("x-api-key")!]
    }

    static func respond(_ status: Int, _ body: String, contentType: String = "application/json", retryAfter: Int? = nil) -> Response {
        var headers: HTTPFields = [.contentType: contentType]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    func models(_ request: Request) -> Response {
        let key = Self.key(request)
        script.count("GET /v1/models key=\(key ?? "-") ")
        let fault = script.fault(key: key, model: nil)
        return MockBodies.$style.withValue(fault?.style ?? script.style) {
            if let fault, let status = fault.status {
                return Self.respond(status, MockBodies.error(status: status, anthropic: false, message: "mock fault \(status)"), retryAfter: fault.retryAfter)
            }
            let hidden = script.hiddenModels(key: key)
            let data = script.models.filter { !hidden.contains($0) }.map { ["id": $0, "object": "model", "created": 1_700_000_000, "owned_by": "mock"] as [String: Any] }
            return Self.respond(200, MockBodies.json(["object": "list", "data": data]))
        }
    }

    func handle(_ request: Request, _ context: BasicRequestContext, path: String) async throws -> Response {
        let anthropic = path == "/v1/messages"
        var request = request
        let bytes = try await request.collectBody(upTo: 16 << 20)
        guard let body = try? JSONSerialization.jsonObject(with: Data(buffer: bytes)) as? [String: Any] else {
            return Self.respond(400, MockBodies.error(status: 400, anthropic: anthropic, message: "invalid JSON body"))
        }
        let key = Self.key(request)
        let model = body["model"] as? String ?? ""
        script.count("POST \(path) key=\(key ?? "-") model=\(model)")
        let fault = script.fault(key: key, model: model)
        if let delay = fault?.delayMs { try await Task.sleep(for: .milliseconds(delay)) }
        return MockBodies.$style.withValue(fault?.style ?? script.style) {
            answer(request, body: body, key: key, model: model, fault: fault, path: path)
        }
    }

    /// The answer to a request that reached the mock's model endpoints, rendered in the current `MockBodies.style`.
    private func answer(_ request: Request, body: [String: Any], key: String?, model: String, fault: Fault?, path: String) -> Response {
        let anthropic = path == "/v1/messages"
        if let fault, let status = fault.status {
            let message = fault.echoKey == true ? "Incorrect API key provided: \(key ?? "")" : "mock fault \(status)"
            return Self.respond(status, MockBodies.error(status: status, anthropic: anthropic, message: message), retryAfter: fault.retryAfter)
        }
        if let name = fault?.rejectHeader.flatMap({ HTTPField.Name($0) }), request.headers[name] != nil {
            return Self.respond(400, MockBodies.error(status: 400, anthropic: anthropic, message: "unsupported header \(name)"))
        }
        if path == "/v1/responses", fault?.responsesUnsupported == true {
            return Self.respond(404, MockBodies.error(status: 404, anthropic: false, message: "Not Found: /v1/responses"))
        }
        if fault?.invalidJSON == true { return Self.respond(200, "<html>this is not json") }
        if !script.models.contains(model) || script.hiddenModels(key: key).contains(model) {
            return Self.respond(404, MockBodies.error(status: 404, anthropic: anthropic, message: "model \(model) not found"))
        }
        let prompt = MockBodies.promptTokens(body)
        let stream = body["stream"] as? Bool == true
        switch path {
        case "/v1/chat/completions":
            let tool = MockBodies.toolToCall(body, anthropic: false)
            if !stream { return Self.respond(200, MockBodies.chatCompletion(model: model, prompt: prompt, tool: tool)) }
            let includeUsage = (body["stream_options"] as? [String: Any])?["include_usage"] as? Bool == true
            return streamResponse(MockStreams.chat(model: model, prompt: prompt, tool: tool, includeUsage: includeUsage), fault: fault, path: path)
        case "/v1/responses":
            if !stream { return Self.respond(200, MockBodies.json(MockBodies.response(model: model, prompt: prompt))) }
            return streamResponse(MockStreams.responses(model: model, prompt: prompt), fault: fault, path: path)
        case "/v1/embeddings":
            let inputs = (body["input"] as? [Any])?.count ?? 1
            return Self.respond(200, MockBodies.embeddings(model: model, inputs: inputs, prompt: prompt))
        default:
            let tool = MockBodies.toolToCall(body, anthropic: true)
            if !stream { return Self.respond(200, MockBodies.message(model: model, prompt: prompt, tool: tool)) }
            return streamResponse(MockStreams.messages(model: model, prompt: prompt, tool: tool), fault: fault, path: path)
        }
    }

    /// Sends SSE events one write each; a `cut` fault drops the connection before the first token or halfway,
    /// `chunk_delay_ms` paces the events. A client that goes away mid-stream is counted as "ABORTED <path>".
    func streamResponse(_ events: MockStreams.Events, fault: Fault?, path: String) -> Response {
        let script = self.script
        let style = MockBodies.style
        let body = ResponseBody { writer in
            let stopAt: Int? = switch fault?.cut {
            case "before_first_token": events.firstTokenIndex
            case "midway": events.firstTokenIndex + (events.list.count - events.firstTokenIndex) / 2
            default: nil
            }
            for (index, event) in events.list.enumerated() {
                if let stopAt, index >= stopAt { throw MockCut() }
                if let delay = fault?.chunkDelayMs, index > 0 { try await Task.sleep(for: .milliseconds(delay)) }
                do {
                    for piece in style.pieces(event) { try await writer.write(ByteBuffer(string: piece)) }
                } catch {
                    script.count("ABORTED \(path) ")
                    throw error
                }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }
}

/// Thrown inside a response body to drop the connection mid-stream.
struct MockCut: Error {}
