import GatewayFixtures
import Foundation
import Gateway
import HTTPTypes
import HummingbirdTesting
import Jobs
import NIOCore
@_spi(Engine) import Store
import Testing

/// Settlement debits the user's balance; once it runs out the gateway answers 429 in the caller's protocol.
@Suite struct SettlementQuotaTests {
    @Test(arguments: RelayErrorTests.Proto.allCases) func aBalanceRunOutBySettlementAnswers429(_ proto: RelayErrorTests.Proto) async throws {
        let errors = RelayErrorTests()
        let f = try await RelayFixture()
        try await f.test { client in
            // Quota 1,000,000 micro-units; every request costs about (prompt + completion) × 10,000 × 2 (multiplier).
            _ = try await f.setUp(client, channels: errors.channels(f), userQuota: 1_000_000)
            try await f.api(client, .patch, "/api/users/\(f.userId)", ["rate_multiplier": 2], expect: .ok)
            try await f.api(client, .put, "/api/models/gpt-4o-mini", ["input_price": 10_000_000_000, "output_price": 10_000_000_000],
                            expect: .ok)
            let settlement = Settlement(db: f.db)
            var served = 0
            // Requests keep being served until settlement has debited the balance to zero or below.
            while served < 50 {
                let response = try await errors.send(f, client, proto, key: f.clientKey)
                if response.status == .tooManyRequests {
                    errors.expectError(response, .tooManyRequests, proto)
                    break
                }
                #expect(response.status == .ok, "\(String(buffer: response.body))")
                served += 1
                try await f.deps.writer.flush()
                _ = try await settlement.settleAll()
                try await f.deps.state.reload()
            }
            #expect(served > 0 && served < 50)
            let response = try await errors.send(f, client, proto, key: f.clientKey)
            errors.expectError(response, .tooManyRequests, proto)
            let error = jsonObject(response)["error"] as? [String: Any]
            #expect(error?["type"] as? String == (proto == .openai ? "insufficient_quota" : "rate_limit_error"))
            #expect((error?["message"] as? String)?.contains("account has used its quota") == true)

            let user = try await f.db.read { db in try User.fetchOne(db, key: f.userId)! }
            let (logs, _) = try await f.flushed()
            let owed = logs.reduce(Int64(0)) { $0 + ($1.cost * 2_000_000 + 999_999) / 1_000_000 }
            #expect(user.used == owed && user.used >= 1_000_000 && user.exhaustedAt != nil)
            let ledger = try await f.db.read { db in try Int64.fetchOne(db, sql: "SELECT sum(amount) FROM ledger") }
            #expect(ledger == owed)

            // Raising the quota (an operator's top-up) lets the key through again.
            try await f.api(client, .patch, "/api/users/\(f.userId)", ["quota": 1_000_000_000], expect: .ok)
            #expect(try await errors.send(f, client, proto, key: f.clientKey).status == .ok)
        }
    }
}
