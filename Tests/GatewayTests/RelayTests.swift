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
import TestSupport

@Suite struct RelayTests {
    @Test(arguments: [false, true], Engine.allCases) func chatCompletionIsRelayedTracedAndBilledExactly(directHTTP: Bool, engine: Engine) async throws {
        let f = try await RelayFixture(engine, directHTTP: directHTTP)
        try await f.test { client in
            let channels = try await f.setUp(client)
            // 150 micro-units per million input tokens, 600 per million output: cost = ceil((p×150 + c×600) / 1e6).
            try await f.api(client, .put, "/api/models/gpt-4o-mini", ["input_price": 150_000_000, "output_price": 600_000_000], expect: .ok)
            let response = try await f.post(client, "/v1/chat/completions", chatBody())
            #expect(response.status == .ok)
            #expect(response.headers[.init("X-Request-Id")!]?.hasPrefix("req_") == true)
            let body = jsonObject(response)
            let message = ((body["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String
            #expect(message == "Hello from the mock upstream.")
            let usage = body["usage"] as! [String: Any]
            let prompt = (usage["prompt_tokens"] as! NSNumber).int64Value
            let completion = (usage["completion_tokens"] as! NSNumber).int64Value
            let (logs, traces) = try await f.flushed()
            #expect(logs.count == 1)
            let expected = (prompt * 150_000_000 + completion * 600_000_000 + 999_999) / 1_000_000
            #expect(logs.first?.cost == expected && expected > 0)
            #expect(logs.first?.promptTokens == prompt && logs.first?.completionTokens == completion)
            #expect(traces.first?.channelId == channels[0] && traces.first?.status == 200 && traces.first?.attempts == 1)
            #expect(traces.first?.requestId == response.headers[.init("X-Request-Id")!])
        }
    }

    @Test(arguments: [false, true], Engine.allCases) func streamIsPassedThroughAndTheUsageChunkStrippedUnlessAsked(directHTTP: Bool, engine: Engine) async throws {
        let f = try await RelayFixture(engine, directHTTP: directHTTP)
        try await f.test { client in
            _ = try await f.setUp(client)
            let plain = try await f.post(client, "/v1/chat/completions", chatBody(stream: true))
            #expect(plain.status == .ok)
            #expect(plain.headers[.contentType] == "text/event-stream")
            let text = String(buffer: plain.body)
            #expect(text.contains("\"content\":\" mock\""))
            #expect(text.hasSuffix("data: [DONE]\n\n"))
            #expect(!text.contains("\"usage\""), "the client did not ask for usage")
            let asked = String(buffer: try await f.post(client, "/v1/chat/completions", chatBody(stream: true, includeUsage: true)).body)
            #expect(asked.contains("\"usage\":{"))
            let (logs, traces) = try await f.flushed()
            #expect(logs.count == 2)
            #expect(logs.allSatisfy { $0.completionTokens == 6 && $0.promptTokens > 0 })
            #expect(traces.allSatisfy { $0.stream && $0.ttftMs != nil })
        }
    }

    @Test(arguments: Engine.allCases) func failsOverBeforeTheFirstByte(_ engine: Engine) async throws {
        let f = try await RelayFixture(engine)
        try await f.test { client in
            let ids = try await f.setUp(client, channels: [["priority": 10, "api_key": "sk-first"], ["priority": 1, "api_key": "sk-second"]])
            f.mock.script.replace([FaultRule(key: "sk-first", fault: Fault(status: 503))])
            let response = try await f.post(client, "/v1/chat/completions", chatBody())
            #expect(response.status == .ok)
            // A stream whose first channel dies before any data also fails over.
            f.mock.script.replace([FaultRule(key: "sk-first", fault: Fault(cut: "before_first_token"))])
            let stream = try await f.post(client, "/v1/chat/completions", chatBody(stream: true))
            #expect(stream.status == .ok && String(buffer: stream.body).hasSuffix("data: [DONE]\n\n"))
            let (_, traces) = try await f.flushed()
            #expect(traces.allSatisfy { $0.attempts == 2 && $0.channelId == ids[1] && $0.status == 200 })
        }
    }

    @Test(arguments: MockStyle.allCases, Engine.allCases) func neverFailsOverAfterTheFirstByteAndBillsWhatWasDelivered(style: MockStyle, engine: Engine) async throws {
        let f = try await RelayFixture(engine, mockStyle: style)
        try await f.test { client in
            _ = try await f.setUp(client, channels: [["priority": 10, "api_key": "sk-first"], ["priority": 1, "api_key": "sk-second"]])
            // Paced events: the first output surely reaches the client before the cut (without pacing a fast cut
            // can arrive before any output, and then failing over is right, since the client saw nothing).
            f.mock.script.replace([FaultRule(key: "sk-first", fault: Fault(cut: "midway", chunkDelayMs: 50))])
            let response = try? await f.post(client, "/v1/chat/completions", chatBody(stream: true))
            if let response { #expect(!String(buffer: response.body).contains("[DONE]")) }
            #expect(f.mock.script.requestCount(path: "/v1/chat/completions") == 1, "no second attempt after bytes reached the client")
            let (logs, traces) = try await f.flushed()
            #expect(traces.first?.status == 502 && traces.first?.attempts == 1, "\(traces) \(f.mock.script.requests)")
            #expect(logs.count == 1, "output was delivered, so it is billed")
            #expect((logs.first?.completionTokens ?? 0) > 0 && (logs.first?.completionTokens ?? 99) < 6)
        }
    }

    @Test(arguments: [false, true], MockStyle.allCases) func streamCutBeforeAnyOutputIsNotBilled(directHTTP: Bool, style: MockStyle) async throws {
        let f = try await RelayFixture(directHTTP: directHTTP, mockStyle: style)
        try await f.test { client in
            _ = try await f.setUp(client)
            f.mock.script.replace([FaultRule(fault: Fault(cut: "before_first_token"))])
            let response = try await f.post(client, "/v1/chat/completions", chatBody(stream: true))
            #expect(response.status == .badGateway)
            let (logs, traces) = try await f.flushed()
            #expect(logs.isEmpty)
            #expect(traces.first?.status == 502)
        }
    }

    @Test(arguments: Engine.allCases) func failedUpstreamIsNotBilledAndAutoDisablesAfterNFailuresNotOne(_ engine: Engine) async throws {
        let f = try await RelayFixture(engine, relay: RelayOptions(maxAttempts: 1, autoDisableAfter: 3))
        try await f.test { client in
            let ids = try await f.setUp(client)
            f.mock.script.replace([FaultRule(fault: Fault(status: 500))])
            for attempt in 1...3 {
                let response = try await f.post(client, "/v1/chat/completions", chatBody())
                #expect(response.status == .badGateway, "attempt \(attempt)")
                if attempt == 2 {
                    _ = try await f.flushed()
                    let channel = try await f.api(client, .get, "/api/channels/\(ids[0])")
                    #expect(channel["status"] as? String == "enabled" && channel["failure_streak"] as? Int == 2)
                }
            }
            let (logs, _) = try await f.flushed()
            #expect(logs.isEmpty, "failures are not billed")
            let channel = try await f.api(client, .get, "/api/channels/\(ids[0])")
            #expect(channel["status"] as? String == "auto_disabled")
            #expect((channel["status_reason"] as? String)?.contains("3 consecutive failures") == true)
            // Out of routing now: no channel is available.
            f.mock.script.replace([])
            #expect(try await f.post(client, "/v1/chat/completions", chatBody()).status == .serviceUnavailable)
        }
    }

    @Test(arguments: Engine.allCases) func oneFailureDoesNotDisable(_ engine: Engine) async throws {
        let f = try await RelayFixture(engine, relay: RelayOptions(maxAttempts: 1, autoDisableAfter: 3))
        try await f.test { client in
            let ids = try await f.setUp(client)
            f.mock.script.replace([FaultRule(fault: Fault(status: 500, times: 2))])
            #expect(try await f.post(client, "/v1/chat/completions", chatBody()).status == .badGateway)
            #expect(try await f.post(client, "/v1/chat/completions", chatBody()).status == .badGateway)
            #expect(try await f.post(client, "/v1/chat/completions", chatBody()).status == .ok)
            _ = try await f.flushed()
            let channel = try await f.api(client, .get, "/api/channels/\(ids[0])")
            #expect(channel["status"] as? String == "enabled" && channel["failure_streak"] as? Int == 0)
        }
    }

    @Test(arguments: Engine.allCases) func anthropicChannelIsPassedThroughWithUsage(_ engine: Engine) async throws {
        let f = try await RelayFixture(engine)
        try await f.test { client in
            _ = try await f.setUp(client, channels: [["type": "anthropic", "models": ["claude-3-5-sonnet-20241022"]]])
            let body: [String: Any] = ["model": "claude-3-5-sonnet-20241022", "max_tokens": 64, "messages": [["role": "user", "content": "hi"]]]
            let headers: HTTPFields = [.init("x-api-key")!: f.clientKey, .contentType: "application/json"]
            let json = try await f.post(client, "/anthropic/v1/messages", body, headers: headers)
            #expect(json.status == .ok)
            #expect((jsonObject(json)["content"] as? [[String: Any]])?.first?["text"] as? String == "Hello from the mock upstream.")
            var streamBody = body
            streamBody["stream"] = true
            let stream = String(buffer: try await f.post(client, "/anthropic/v1/messages", streamBody, headers: headers).body)
            #expect(stream.contains("event: message_start") && stream.contains("event: message_stop"))
            let (logs, _) = try await f.flushed()
            #expect(logs.count == 2 && logs.allSatisfy { $0.completionTokens == 6 && $0.promptTokens > 0 })
        }
    }

    @Test(arguments: Engine.allCases) func modelsListsWhatTheKeyMayUse(_ engine: Engine) async throws {
        let f = try await RelayFixture(engine)
        try await f.test { client in
            _ = try await f.setUp(client, keyModels: ["gpt-4o"])
            let response = try await client.execute(uri: "/v1/models", method: .get, headers: f.clientHeaders)
            let ids = (jsonObject(response)["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
            #expect(ids == ["gpt-4o"])
        }
    }

    @Test(arguments: Engine.allCases) func embeddingsAndResponsesAreRelayed(_ engine: Engine) async throws {
        let f = try await RelayFixture(engine)
        try await f.test { client in
            _ = try await f.setUp(client)
            let embeddings = try await f.post(client, "/v1/embeddings", ["model": "text-embedding-3-small", "input": ["a", "b"]])
            #expect((jsonObject(embeddings)["data"] as? [Any])?.count == 2)
            let responses = try await f.post(client, "/v1/responses", ["model": "gpt-4o-mini", "input": "hi"])
            #expect(jsonObject(responses)["object"] as? String == "response")
            let stream = String(buffer: try await f.post(client, "/v1/responses", ["model": "gpt-4o-mini", "input": "hi", "stream": true]).body)
            #expect(stream.contains("response.completed"))
            let (logs, _) = try await f.flushed()
            #expect(logs.count == 3)
            #expect(logs.filter { $0.model == "gpt-4o-mini" }.allSatisfy { $0.completionTokens == 6 })
        }
    }
}

@Suite struct UpstreamRestartTests {
    /// Pooled connections to an upstream that restarted are not held against the channel.
    @Test(arguments: Engine.allCases) func upstreamRestartDoesNotFailRequests(_ engine: Engine) async throws {
        // Below the ephemeral range: the restart binds the same port again.
        let f = try await RelayFixture(engine, mockPort: try stableLoopbackPort())
        try await f.test { client in
            let ids = try await f.setUp(client)
            for _ in 0..<3 { #expect(try await f.post(client, "/v1/chat/completions", chatBody()).status == .ok) }
            f.mock.stop()
            try await Task.sleep(for: .milliseconds(300))
            let restarted = try await RunningMockUpstream.start(port: f.mock.port)
            defer { restarted.stop() }
            for _ in 0..<3 { #expect(try await f.post(client, "/v1/chat/completions", chatBody()).status == .ok) }
            _ = try await f.flushed()
            let channel = try await f.api(client, .get, "/api/channels/\(ids[0])")
            #expect(channel["failure_streak"] as? Int == 0 && channel["status"] as? String == "enabled")
        }
    }

    /// More requests in flight to one upstream than the pool keeps idle: the connections past the pool's cap are
    /// closed as their answers end (from inside the read that ended them), and every request still succeeds.
    /// (200 requests: the pool keeps 64 per event loop and host, and the test process has one loop per core.)
    @Test(arguments: Engine.allCases) func moreConcurrentRequestsThanThePoolKeeps(_ engine: Engine) async throws {
        let f = try await RelayFixture(engine)
        try await f.test { client in
            _ = try await f.setUp(client)
            // A slow first byte keeps every request open at once.
            f.mock.script.replace([FaultRule(fault: Fault(delayMs: 400))])
            var configuration = HTTPClient.Configuration()
            configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 250)
            let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            let statuses = await withTaskGroup(of: Int.self) { group in
                for _ in 0..<200 {
                    group.addTask {
                        var request = HTTPClientRequest(url: "http://127.0.0.1:\(client.port!)/v1/chat/completions")
                        request.method = .POST
                        for field in f.clientHeaders { request.headers.add(name: field.name.rawName, value: field.value) }
                        request.body = .bytes(ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: chatBody())))
                        guard let response = try? await http.execute(request, timeout: .seconds(30)) else { return 0 }
                        _ = try? await response.body.collect(upTo: 1 << 20)
                        return Int(response.status.code)
                    }
                }
                return await group.reduce(into: [Int]()) { $0.append($1) }
            }
            try await http.shutdown()
            #expect(statuses.count == 200 && statuses.allSatisfy { $0 == 200 }, "\(Dictionary(grouping: statuses) { $0 }.mapValues(\.count))")
            f.mock.script.replace([])
            #expect(try await f.post(client, "/v1/chat/completions", chatBody()).status == .ok)
        }
    }
}
