import Foundation
import Store
import Testing
import TestSupport

/// Two gateway processes on one database: what an operator changes through one, the other routes and authenticates
/// by within a second (PostgreSQL: announced by triggers; SQLite: each process looks every 300 ms).
@Suite(.processDiagnostics) struct StatePropagationTests {
    /// How long `condition` took to hold, polled every 10 ms for up to 5 s (nil: it never did).
    func timeUntil(_ condition: () async throws -> Bool) async -> Duration? {
        let started = ContinuousClock.now
        return await eventually(timeout: .seconds(5), every: .milliseconds(10), condition) ? ContinuousClock.now - started : nil
    }

    func chat(_ base: String, key: String, via g: GatewayProcess) async throws -> Int {
        try await reply(base, key: key, via: g).status
    }

    func reply(_ base: String, key: String, via g: GatewayProcess) async throws -> GatewayProcess.Reply {
        try await g.request(.POST, base + "/v1/chat/completions",
                            json: ["model": "gpt-4o-mini", "messages": [["role": "user", "content": "hi"]]],
                            headers: [("authorization", "Bearer \(key)")])
    }

    /// A provisioned daemon A, a second daemon on its database (its process and base URL), both relaying.
    func twoGateways(_ engine: Engine) async throws -> (GatewayProcess, DaemonProcess, String) {
        let a = try await GatewayProcess(engine)
        try await a.provision()
        let (second, b) = try await a.startSibling([], name: "b")
        #expect(await eventually(timeout: .seconds(30)) { try await chat(b, key: a.clientKey, via: a) == 200 })
        return (a, second, b)
    }

    func firstUser(_ g: GatewayProcess) async throws -> Int {
        let users = try await g.admin(.GET, "/api/users")
        return try #require((users.json["data"] as? [[String: Any]])?.first?["id"] as? Int)
    }

    @Test(arguments: Engine.allCases) func changesThroughOneGatewayReachTheOtherWithinASecond(_ engine: Engine) async throws {
        let (a, second, b) = try await twoGateways(engine)
        let admin = [("authorization", "Bearer \(a.adminToken)")]

        // A key created through B authenticates through A.
        let userId = try await firstUser(a)
        let created = try await a.request(.POST, b + "/api/keys", json: ["user_id": userId, "name": "from-b"], headers: admin)
        let newKey = try #require(created.json["key"] as? String, "\(created.body)")
        let keyId = try #require(created.json["id"] as? Int)
        let createdSeen = await timeUntil { try await chat(a.base, key: newKey, via: a) == 200 }
        #expect(createdSeen.map { $0 < .seconds(1) } == true, "key created in B authenticated in A after \(String(describing: createdSeen))")

        // The key disabled through A is refused by B.
        let disabled = try await a.admin(.PATCH, "/api/keys/\(keyId)", ["status": "disabled"])
        #expect(disabled.status == 200, "\(disabled.body)")
        let revokedSeen = await timeUntil { try await chat(b, key: newKey, via: a) == 403 }  // "this API key is disabled"
        #expect(revokedSeen.map { $0 < .seconds(1) } == true, "key disabled in A refused by B after \(String(describing: revokedSeen))")

        // The channel disabled through A receives no more traffic through B.
        let channels = try await a.admin(.GET, "/api/channels")
        let channel = try #require((channels.json["data"] as? [[String: Any]])?.first { $0["type"] as? String == "openai" })
        let off = try await a.admin(.PATCH, "/api/channels/\(channel["id"] as! Int)", ["status": "disabled"])
        #expect(off.status == 200, "\(off.body)")
        let channelSeen = await timeUntil { try await chat(b, key: a.clientKey, via: a) != 200 }
        #expect(channelSeen.map { $0 < .seconds(1) } == true, "channel disabled in A left B's routing after \(String(describing: channelSeen))")
        print("state propagation (\(engine)): key created \(String(describing: createdSeen)), key disabled \(String(describing: revokedSeen)), "
              + "channel disabled \(String(describing: channelSeen))")
        second.signal(SIGTERM)
        #expect(await second.waitForExit(timeout: .seconds(30)) == 0)
    }

    /// A key's quota across two gateways: each counts its own spend as it commits and reads the other's when it is
    /// announced (PostgreSQL) or at its next look (SQLite), so the two together overshoot by what they serve in that
    /// lag, not by a whole refresh period each. Requests are paced (10 a second through each gateway, alternating) so
    /// the bound is a count: each gateway's own unflushed requests (≤ 0.1 s) plus the other's not yet seen (≤ 0.7 s).
    @Test(arguments: Engine.allCases) func aKeysQuotaHoldsAcrossTwoGatewaysWithinTheLag(_ engine: Engine) async throws {
        let (a, second, b) = try await twoGateways(engine)

        // One request's cost, from the books.
        let userId = try await firstUser(a)
        let created = try await a.admin(.POST, "/api/keys", ["user_id": userId, "name": "capped"])
        let key = try #require(created.json["key"] as? String)
        let keyId = try #require(created.json["id"] as? Int)
        #expect(try await chat(a.base, key: key, via: a) == 200)
        let billed = { try await a.database.db.read { db in
            try Int64.fetchOne(db, sql: "SELECT coalesce(sum(cost), 0) FROM usage_logs WHERE key_id = ?", arguments: [keyId]) ?? 0
        } }
        #expect(await eventually(timeout: .seconds(10)) { try await billed() > 0 })
        let cost = try await billed()
        // Both gateways know the key before it is capped (a 401 from B would not count against the quota).
        #expect(await eventually(timeout: .seconds(10)) { try await chat(b, key: key, via: a) == 200 })
        #expect(await eventually(timeout: .seconds(10)) { try await billed() == 2 * cost })
        let quota = cost * 22  // 20 more requests
        let capped = try await a.admin(.PATCH, "/api/keys/\(keyId)", ["quota": quota])
        #expect(capped.status == 200, "\(capped.body)")

        var refusedInARow = 0
        let started = ContinuousClock.now
        var turn = 0
        while refusedInARow < 4 && ContinuousClock.now - started < .seconds(30) {
            let reply = try await reply(turn % 2 == 0 ? a.base : b, key: key, via: a)
            refusedInARow = reply.status == 429 ? refusedInARow + 1 : 0
            #expect(reply.status == 200 || reply.status == 429, "turn \(turn) at \(ContinuousClock.now - started): \(reply.status) \(reply.body)")
            turn += 1
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(refusedInARow >= 4, "both gateways refuse the key once its quota is spent")
        try await Task.sleep(for: .milliseconds(500))  // the last flushes
        let over = try await billed() - quota
        print("quota across two gateways (\(engine)): \(turn) requests, overshoot \(over) micro-units = \(Double(over) / Double(cost)) requests")
        #expect(over <= 16 * cost, "overshoot \(Double(over) / Double(cost)) requests; the bound is 2 × (1 + 7)")
        second.signal(SIGTERM)
        #expect(await second.waitForExit(timeout: .seconds(30)) == 0)
    }
}
