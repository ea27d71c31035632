import GatewayFixtures
import Foundation
import Gateway
import HTTPTypes
import HummingbirdTesting
import MockUpstream
import NIOCore
import TestSupport
import Testing

/// Every error status of the data plane, in the caller's protocol: OpenAI error JSON on /v1, Anthropic on /anthropic.
@Suite struct RelayErrorTests {
    enum Proto: String, CaseIterable, Sendable { case openai, anthropic }

    func send(_ f: RelayFixture, _ client: any TestClientProtocol, _ proto: Proto, key: String?, body: [String: Any]? = nil,
              raw: String? = nil, model: String = "gpt-4o-mini") async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let key { headers[proto == .openai ? .authorization : .init("x-api-key")!] = proto == .openai ? "Bearer \(key)" : key }
        let payload: [String: Any] = body ?? (proto == .openai
            ? chatBody(model: model)
            : ["model": model, "max_tokens": 16, "messages": [["role": "user", "content": "hi"]]])
        let bytes = try raw.map { ByteBuffer(string: $0) } ?? ByteBuffer(bytes: JSONSerialization.data(withJSONObject: payload))
        let uri = proto == .openai ? "/v1/chat/completions" : "/anthropic/v1/messages"
        return try await client.execute(uri: uri, method: .post, headers: headers, body: bytes)
    }

    func expectError(_ response: TestResponse, _ status: HTTPResponse.Status, _ proto: Proto, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(response.status == status, "\(String(buffer: response.body))", sourceLocation: sourceLocation)
        #expect(response.headers[.init("X-Request-Id")!] != nil, sourceLocation: sourceLocation)
        let json = jsonObject(response)
        switch proto {
        case .openai:
            let error = json["error"] as? [String: Any]
            #expect(error?["message"] is String && error?["type"] is String, "\(json)", sourceLocation: sourceLocation)
        case .anthropic:
            #expect(json["type"] as? String == "error", "\(json)", sourceLocation: sourceLocation)
            let error = json["error"] as? [String: Any]
            #expect(error?["message"] is String && error?["type"] is String, sourceLocation: sourceLocation)
        }
    }

    /// Channels for both protocols serving the same model, so every case runs against both.
    func channels(_ f: RelayFixture) -> [[String: Any]] {
        [["models": ["gpt-4o-mini"]], ["type": "anthropic", "models": ["gpt-4o-mini"], "name": "anthropic"]]
    }

    @Test(arguments: Proto.allCases, Engine.allCases) func clientErrors(_ proto: Proto, engine: Engine) async throws {
        let f = try await RelayFixture(engine, relay: RelayOptions(maxBodyBytes: 4096))
        try await f.test { client in
            _ = try await f.setUp(client, channels: channels(f), keyModels: ["gpt-4o-mini", "nonexistent-model"])
            expectError(try await send(f, client, proto, key: nil), .unauthorized, proto)
            expectError(try await send(f, client, proto, key: "sk-wrong"), .unauthorized, proto)
            expectError(try await send(f, client, proto, key: f.clientKey, raw: "{not json"), .badRequest, proto)
            expectError(try await send(f, client, proto, key: f.clientKey, body: ["messages": []]), .badRequest, proto)
            let huge = String(repeating: "x", count: 10_000)
            expectError(try await send(f, client, proto, key: f.clientKey, raw: #"{"model":"gpt-4o-mini","pad":"\#(huge)"}"#), .contentTooLarge, proto)
            expectError(try await send(f, client, proto, key: f.clientKey, model: "gpt-4o"), .forbidden, proto)
            expectError(try await send(f, client, proto, key: f.clientKey, model: "nonexistent-model"), .notFound, proto)
            try await f.api(client, .patch, "/api/keys/\(f.keyId)", ["status": "disabled"], expect: .ok)
            expectError(try await send(f, client, proto, key: f.clientKey), .forbidden, proto)
        }
    }

    @Test(arguments: Proto.allCases, Engine.allCases) func quotaUpstreamAndAvailabilityErrors(_ proto: Proto, engine: Engine) async throws {
        let f = try await RelayFixture(engine, relay: RelayOptions(maxAttempts: 2, autoDisableAfter: 100))
        try await f.test { client in
            let ids = try await f.setUp(client, channels: channels(f), keyQuota: 1)
            try await f.api(client, .put, "/api/models/gpt-4o-mini", ["input_price": 1_000_000, "output_price": 1_000_000], expect: .ok)
            f.mock.script.replace([FaultRule(fault: Fault(status: 500))])
            expectError(try await send(f, client, proto, key: f.clientKey), .badGateway, proto)
            f.mock.script.replace([])
            #expect(try await send(f, client, proto, key: f.clientKey).status == .ok)
            _ = try await f.flushed()
            expectError(try await send(f, client, proto, key: f.clientKey), .tooManyRequests, proto)
            try await f.api(client, .patch, "/api/keys/\(f.keyId)", ["quota": 1_000_000], expect: .ok)
            for id in ids { try await f.api(client, .patch, "/api/channels/\(id)", ["status": "disabled"], expect: .ok) }
            expectError(try await send(f, client, proto, key: f.clientKey), .serviceUnavailable, proto)
        }
    }

    @Test(arguments: Proto.allCases, Engine.allCases) func unknownEndpointsAreNotUnknownModels(_ proto: Proto, engine: Engine) async throws {
        let f = try await RelayFixture(engine)
        try await f.test { client in
            _ = try await f.setUp(client, channels: channels(f))
            var headers: HTTPFields = [.contentType: "application/json"]
            headers[proto == .openai ? .authorization : .init("x-api-key")!] = proto == .openai ? "Bearer \(f.clientKey)" : f.clientKey
            let prefix = proto == .openai ? "/v1" : "/anthropic/v1"
            for (method, path) in [(HTTPRequest.Method.post, "\(prefix)/foo"), (.get, "\(prefix)/chat/completions"),
                                   (.delete, "\(prefix)/models"), (.post, "\(prefix)")] {
                let response = try await client.execute(uri: path, method: method, headers: headers, body: ByteBuffer(string: "{}"))
                expectError(response, .notFound, proto)
                let json = jsonObject(response)
                let error = json["error"] as? [String: Any]
                switch proto {
                case .openai:
                    #expect(error?["code"] as? String == "unknown_url", "\(json)")
                    #expect(error?["type"] as? String == "invalid_request_error", "\(json)")
                case .anthropic:
                    #expect(error?["type"] as? String == "not_found_error", "\(json)")
                }
                #expect(error?["message"] as? String == "Invalid URL (\(method.rawValue) \(path))", "\(json)")
            }
            // An unknown model is still that.
            let model = try await send(f, client, proto, key: f.clientKey, model: "nonexistent-model")
            let error = jsonObject(model)["error"] as? [String: Any]
            #expect(model.status == .notFound && !(error?["message"] as? String ?? "").contains("Invalid URL"))
            if proto == .openai { #expect(error?["code"] as? String == "model_not_found") }
        }
    }

    @Test(arguments: Engine.allCases) func relayedAnswersCarryTheStandardReasonPhrase(_ engine: Engine) async throws {
        let f = try await RelayFixture(engine)
        try await f.test { client in
            _ = try await f.setUp(client)
            let body = String(decoding: try JSONSerialization.data(withJSONObject: chatBody()), as: UTF8.self)
            let raw = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(f.clientKey)\r\n"
                + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
            let text = try await RawHTTP.exchange(port: client.port!, raw)
            #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(text.prefix(120))")
            let health = try await RawHTTP.exchange(port: client.port!, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(health.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(health.prefix(120))")
        }
    }
}
