import GatewayFixtures
import Foundation
import Gateway
import HTTPTypes
import HummingbirdTesting
import MockUpstream
import NIOCore
import Store
import Testing
import TestSupport

/// Each outcome of the reuse policy, from real probes of the mock upstream and confirmation through the gateway.
@Suite struct ImportOutcomeTests {
    @Test(arguments: Engine.allCases) func createdThenReusedOnReRunThenReplacedOnKeyRotation(_ engine: Engine) async throws {
        let f = try await ImportFixture(engine)
        try await f.run { client in
            let items = [f.item("sk-alpha-000001", ["provider": "acme"]), f.item("sk-beta-000002", ["provider": "other"])]
            let first = try await f.imported(client, items)
            #expect(first.run["state"] as? String == "succeeded")
            #expect(first.items.map { $0["outcome"] as? String } == ["created", "created"])
            #expect(first.items.allSatisfy { $0["access_status"] as? String == "confirmed" && $0["upstream_chat_status"] as? Int == 200 })
            var channels = try await f.channels(client)
            #expect(channels.count == 2 && channels.allSatisfy { $0["status"] as? String == "enabled" })

            // The same list again changes nothing.
            let before = channels.map { "\($0["id"]!) \($0["updated_at"]!)" }.sorted()
            let second = try await f.imported(client, items)
            #expect(second.items.map { $0["outcome"] as? String } == ["reused", "reused"])
            channels = try await f.channels(client)
            #expect(channels.map { "\($0["id"]!) \($0["updated_at"]!)" }.sorted() == before)
            #expect(try await f.count("import_changes") == 2)

            // A new key for the same provider and family replaces the old channel's key: still two channels.
            let rotated = try await f.imported(client, [f.item("sk-alpha-rotated-3", ["provider": "acme"])])
            #expect(rotated.items.first?["outcome"] as? String == "replaced")
            channels = try await f.channels(client)
            #expect(channels.count == 2)
            let acme = try #require(channels.first { $0["provider"] as? String == "acme" })
            #expect(acme["key_fingerprint"] as? String == Fingerprint.of("sk-alpha-rotated-3"))
            #expect(acme["id"] as? Int64 == first.items[0]["channel_id"] as? Int64)
        }
    }

    @Test(arguments: Engine.allCases) func twoKeysOfOneProviderInOneRunAreTwoChannels(_ engine: Engine) async throws {
        let f = try await ImportFixture(engine)
        try await f.run { client in
            let result = try await f.imported(client, [f.item("sk-one-0000001", ["provider": "acme"]), f.item("sk-two-0000002", ["provider": "acme"])])
            #expect(result.items.map { $0["outcome"] as? String } == ["created", "created"])
            #expect(try await f.channels(client).count == 2)
        }
    }

    @Test(arguments: Engine.allCases) func patchOnlyWhenModelsChangeAndReactivatedWhenDisabled(_ engine: Engine) async throws {
        let f = try await ImportFixture(engine)
        try await f.run { client in
            let first = try await f.imported(client, [f.item("sk-patch-000001", ["models": ["gpt-4o-mini"], "smoke_model": "gpt-4o-mini"])])
            let id = try #require(first.items.first?["channel_id"] as? Int64)
            let patched = try await f.imported(client, [f.item("sk-patch-000001", ["models": ["gpt-4o-mini", "gpt-4o"], "smoke_model": "gpt-4o-mini"])])
            #expect(patched.items.first?["outcome"] as? String == "patch_only")
            let channel = try await f.api(client, .get, "/api/channels/\(id)")
            #expect(channel["models"] as? [String] == ["gpt-4o", "gpt-4o-mini"] && channel["status"] as? String == "enabled")

            try await f.api(client, .patch, "/api/channels/\(id)", ["status": "disabled"], expect: .ok)
            let back = try await f.imported(client, [f.item("sk-patch-000001", ["models": ["gpt-4o-mini", "gpt-4o"], "smoke_model": "gpt-4o-mini"])])
            #expect(back.items.first?["outcome"] as? String == "reactivated")
            #expect((try await f.api(client, .get, "/api/channels/\(id)"))["status"] as? String == "enabled")
        }
    }

    @Test(arguments: Engine.allCases) func provisionedChannelWaitsInConfirmingUntilConfirmed(_ engine: Engine) async throws {
        let f = try await ImportFixture(engine)
        try await f.run { client in
            let id = try await f.start(client, [f.item("sk-slow-confirm1")], options: ["confirm_delay_s": 3])
            var channel: [String: Any] = [:]
            #expect(await eventually(timeout: .seconds(10)) {
                channel = try await f.channels(client).first ?? [:]
                return channel["status"] as? String == "confirming"
            })
            // Not given to ordinary traffic while confirming.
            let user = try await f.api(client, .post, "/api/users", ["name": "u"], expect: .created)
            let key = try await f.api(client, .post, "/api/keys", ["user_id": user["id"]!, "name": "k"], expect: .created)
            let chat = try await client.execute(
                uri: "/v1/chat/completions", method: .post,
                headers: [.authorization: "Bearer \(key["key"] as! String)", .contentType: "application/json"],
                body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: chatBody())))
            #expect(chat.status == .serviceUnavailable)
            let run = try await f.finished(client, id)
            #expect(run["state"] as? String == "succeeded")
            #expect(try await f.channels(client).first?["status"] as? String == "enabled")
        }
    }

    @Test func chatOnlyWhenResponsesFailAndRoutingSkipsIt() async throws {
        let script = MockScript(rules: [FaultRule(key: "sk-chatonly-0001", fault: Fault(responsesUnsupported: true))])
        let f = try await ImportFixture(script: script)
        try await f.run { client in
            let result = try await f.imported(client, [f.item("sk-chatonly-0001", ["smoke_model": "gpt-4o-mini"])])
            #expect(result.items.first?["outcome"] as? String == "created")
            let capabilities = try #require(result.items.first?["capabilities"] as? [String: Any])
            #expect(capabilities["responses"] as? Bool == false && capabilities["chat"] as? Bool == true)
            let channel = try #require(try await f.channels(client).first)
            #expect(channel["chat_only"] as? Bool == true)
            let user = try await f.api(client, .post, "/api/users", ["name": "u"], expect: .created)
            let key = try await f.api(client, .post, "/api/keys", ["user_id": user["id"]!, "name": "k"], expect: .created)
            let headers: HTTPFields = [.authorization: "Bearer \(key["key"] as! String)", .contentType: "application/json"]
            let responses = try await client.execute(uri: "/v1/responses", method: .post, headers: headers,
                                                     body: ByteBuffer(string: #"{"model":"gpt-4o-mini","input":"hi"}"#))
            #expect(responses.status == .serviceUnavailable)
            let chat = try await client.execute(uri: "/v1/chat/completions", method: .post, headers: headers,
                                                body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: chatBody())))
            #expect(chat.status == .ok)
        }
    }

    @Test func catalogDefaultsAndAliasesNormaliseModels() async throws {
        let script = MockScript(models: ["moonshotai/Kimi-K2.6", "Kimi_K2_Turbo_Preview"])
        let g = try await ImportFixture(script: script) { mockURL in try testCatalog("""
            {"name": "moonshot", "display_name": "Moonshot", "type": "openai", "default_base_url": "\(mockURL)",
             "smoke_model": "Kimi 2.6", "models": ["kimi-k2.6", "kimi-k2-turbo-preview"],
             "aliases": {"kimi 2.6": "kimi-k2.6"}, "model_prefixes": ["moonshotai/"],
             "capabilities": {"chat": true, "streaming": true, "tools": true, "responses": false, "anthropic_messages": false}}
            """) }
        try await g.run { client in
            // No base_url: the catalog's default; no smoke model: the catalog's ("Kimi 2.6" → kimi-k2.6).
            let result = try await g.imported(client, [["api_key": "sk-kimi-0000001", "provider": "moonshot"]])
            let item = try #require(result.items.first)
            #expect(item["outcome"] as? String == "created", "\(item)")
            #expect(item["smoke_model"] as? String == "kimi-k2.6")
            #expect(item["models"] as? [String] == ["kimi-k2-turbo-preview", "kimi-k2.6"])
            let channel = try #require(try await g.channels(client).first)
            #expect(channel["model_mapping"] as? [String: String] == ["kimi-k2.6": "moonshotai/Kimi-K2.6",
                                                                     "kimi-k2-turbo-preview": "Kimi_K2_Turbo_Preview"])
            #expect(channel["family"] as? String == "kimi" && channel["provider"] as? String == "moonshot")
            // The catalog says no /responses: chat-only whatever the probe saw.
            #expect(channel["chat_only"] as? Bool == true)
        }
    }
}
