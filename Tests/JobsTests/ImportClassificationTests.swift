import GatewayFixtures
import Foundation
import Gateway
import HummingbirdTesting
import MockUpstream
import Store
import Testing

/// Every failure classification an item can end with, each driven by a scripted fault of the mock upstream.
@Suite struct ImportClassificationTests {
    /// Runs one item per key under `rules` and returns each item by key.
    func outcomes(_ rules: [FaultRule], keys: [String], options: [String: Int] = [:],
                  probeTimeout: Duration = .seconds(5)) async throws -> [String: [String: Any]] {
        let f = try await ImportFixture(script: MockScript(rules: rules), probeTimeout: probeTimeout)
        let found = ItemsBox()
        try await f.run { client in
            let items = keys.map { f.item($0, ["smoke_model": "gpt-4o-mini"]) }
            let result = try await f.imported(client, items, options: options)
            for (key, item) in zip(keys, result.items) { found.set(key, item) }
        }
        return found.all
    }

    @Test func authForbiddenRateLimitAndMissingModel() async throws {
        let items = try await outcomes([
            FaultRule(key: "sk-auth-failed-01", fault: Fault(status: 401)),
            FaultRule(key: "sk-forbidden-0001", fault: Fault(status: 403)),
            FaultRule(key: "sk-ratelimited-01", fault: Fault(status: 429, retryAfter: 0)),
            FaultRule(key: "sk-missing-00001", model: "gpt-4o-mini", fault: Fault(missingModel: true)),
        ], keys: ["sk-auth-failed-01", "sk-forbidden-0001", "sk-ratelimited-01", "sk-missing-00001"],
           options: ["max_attempts": 3])
        #expect(items["sk-auth-failed-01"]?["classification"] as? String == "auth_failed")
        #expect(items["sk-auth-failed-01"]?["attempts"] as? Int == 1, "401 is permanent: no retry")
        #expect(items["sk-forbidden-0001"]?["classification"] as? String == "forbidden")
        #expect(items["sk-forbidden-0001"]?["attempts"] as? Int == 2, "403 gets exactly one retry")
        #expect(items["sk-ratelimited-01"]?["classification"] as? String == "rate_limited")
        #expect(items["sk-ratelimited-01"]?["attempts"] as? Int == 3, "429 retries until max_attempts")
        #expect(items["sk-missing-00001"]?["classification"] as? String == "model_missing")
        for item in items.values {
            #expect(item["outcome"] as? String == "failed" && item["state"] as? String == "failed")
            #expect(item["channel_id"] == nil || item["channel_id"] is NSNull)
        }
    }

    @Test func forbiddenOnceThenOK() async throws {
        let items = try await outcomes([FaultRule(key: "sk-fresh-key-001", fault: Fault(status: 403, times: 1))], keys: ["sk-fresh-key-001"])
        let item = try #require(items["sk-fresh-key-001"])
        #expect(item["outcome"] as? String == "created")
        let trail = try #require(item["trail"] as? [[String: Any]])
        #expect(trail.first?["classification"] as? String == "forbidden" && trail.first?["status"] as? Int == 403)
        #expect(item["attempts"] as? Int == 2)
    }

    @Test func warmingUpThatRecoversAndOneThatDoesNot() async throws {
        let items = try await outcomes([
            FaultRule(key: "sk-warm-recovers", fault: Fault(status: 503, times: 2)),
            FaultRule(key: "sk-warm-forever1", fault: Fault(status: 503)),
        ], keys: ["sk-warm-recovers", "sk-warm-forever1"], options: ["retry_window_s": 8, "max_attempts": 50])
        #expect(items["sk-warm-recovers"]?["outcome"] as? String == "created")
        #expect(items["sk-warm-recovers"]?["attempts"] as? Int == 3)
        let stuck = try #require(items["sk-warm-forever1"])
        #expect(stuck["classification"] as? String == "warming_up")
        // Ended by the window (8 s at 50 ms doubling: about 8 attempts), long before 50.
        #expect((stuck["attempts"] as? Int ?? 0) < 15)
    }

    @Test func aPacedItemsWindowOpensAtItsFirstProbe() async throws {
        // 2 items/s: the last item starts ~1.5 s after submission, past a 1 s window counted from then; it still
        // gets its retry, since its window opens when it is first probed.
        let keys = ["sk-paced-win-0001", "sk-paced-win-0002", "sk-paced-win-0003", "sk-paced-win-0004"]
        let items = try await outcomes([FaultRule(key: keys[3], fault: Fault(status: 503, times: 1))], keys: keys,
                                       options: ["rate_per_s": 2, "retry_window_s": 1, "max_attempts": 5])
        #expect(items[keys[3]]?["outcome"] as? String == "created", "\(items[keys[3]] ?? [:])")
        #expect(items[keys[3]]?["attempts"] as? Int == 2)
    }

    @Test func confirmationRetriesAWarmUpInsideItsWindow() async throws {
        // The probe passes; the next two chats (the gateway's and the direct one) answer 503, then it recovers.
        let rule = FaultRule(key: "sk-confirm-warm1", model: "gpt-4o-mini", fault: Fault(status: 503, times: 3))
        let f = try await ImportFixture(script: MockScript(rules: []))
        try await f.run { client in
            let id = try await f.start(client, [f.item("sk-confirm-warm1", ["smoke_model": "gpt-4o-mini"])], options: ["confirm_delay_s": 1])
            #expect(await eventually { try await f.channels(client).first?["status"] as? String == "confirming" })
            f.mock.script.add(rule)
            let run = try await f.finished(client, id)
            let item = try #require((try await f.api(client, .get, "/api/batch-import/runs/\(id)/items"))["data"] as? [[String: Any]]).first
            #expect(run["state"] as? String == "succeeded", "\(item ?? [:])")
            let confirms = (item?["trail"] as? [[String: Any]] ?? []).filter { $0["phase"] as? String == "confirm" }
            #expect(confirms.contains { $0["classification"] as? String == "warming_up" })
            #expect(confirms.last?["status"] as? Int == 200)
        }
    }

    @Test func timeoutUnreachableAndNotOpenAICompatible() async throws {
        let f = try await ImportFixture(
            script: MockScript(rules: [FaultRule(key: "sk-slow-upstream1", fault: Fault(delayMs: 8000))]), probeTimeout: .seconds(2))
        try await f.run { client in
            let closed = "http://127.0.0.1:9"   // discard port: nothing listens on loopback
            let result = try await f.imported(client, [
                f.item("sk-slow-upstream1", ["smoke_model": "gpt-4o-mini"]),
                ["base_url": closed, "api_key": "sk-unreachable-1"],
                ["base_url": f.mock.baseURL + "/not-an-api", "api_key": "sk-not-openai-01"],
            ], options: ["max_attempts": 2, "retry_window_s": 5])
            #expect(result.items.map { $0["classification"] as? String } == ["timeout", "unreachable", "not_openai_compatible"])
            #expect(result.run["state"] as? String == "failed")
            let summary = try f.typedSummary(result.run)
            #expect(summary.items.map(\.failureClass) == ["reachability", "reachability", "incompatible"])
        }
    }

    @Test func hostCompatibilityGapIsToldFromAnUpstreamRefusal() async throws {
        // The upstream chokes on a header only the gateway sends: direct works, through the gateway it does not.
        let f = try await ImportFixture(script: MockScript(rules: [
            FaultRule(key: "sk-gap-000000001", model: "gpt-4o-mini", fault: Fault(rejectHeader: "accept")),
        ]))
        try await f.run { client in
            let id = try await f.start(client, [f.item("sk-gap-000000001", ["smoke_model": "gpt-4o-mini"]),
                                                f.item("sk-quota-gone-01", ["smoke_model": "gpt-4o-mini"])],
                                       options: ["confirm_delay_s": 4, "max_attempts": 2, "retry_window_s": 2])
            // After the probe passed, the second key runs out of quota upstream: the fault is added once both channels
            // exist, well inside the 4 s before their confirmations (1 s lost that race under the parallel suites).
            #expect(await eventually { try await f.channels(client).count == 2 })
            f.mock.script.add(FaultRule(key: "sk-quota-gone-01", fault: Fault(status: 429)))
            let run = try await f.finished(client, id)
            let items = try f.typedSummary(run).items
            #expect(items[0].classification == "host_compatibility_gap" && items[0].failureClass == "host_compatibility_gap")
            #expect(items[0].directChatStatus == 200 && items[0].upstreamChatStatus == 400)
            #expect(items[1].failureClass == "upstream_key_quota" && items[1].directChatStatus == 429)
            // Channels that could not be confirmed leave routing, with the reason kept.
            for channel in try await f.channels(client) {
                #expect(channel["status"] as? String == "auto_disabled")
                #expect((channel["status_reason"] as? String)?.contains("could not confirm") == true)
            }
        }
    }
}

/// Collects items from inside a `@Sendable` test body.
final class ItemsBox: @unchecked Sendable {  // written by one test task, read after it ends
    private var items: [String: [String: Any]] = [:]
    func set(_ key: String, _ item: [String: Any]) { items[key] = item }
    var all: [String: [String: Any]] { items }
}
