import Crypto
import Foundation
@testable import Gateway
import Logging
import Scheduler
import Store
import Testing

/// Channel choice: only the model's channels, enabled ones, priority first, weights inside a priority, and no
/// more than asked for.
@Suite struct RoutingTests {
    func state(_ channels: [(models: [String], priority: Int, weight: Int, status: RelayChannel.Status)]) async throws -> GatewayState {
        let dir = NSTemporaryDirectory() + "switchyard-routing-" + UUID().uuidString
        let db = try AppDatabase.open(dataDir: dir)
        let secrets = SecretBox(key: SymmetricKey(size: .bits256))
        try await db.pool.write { db in
            for (index, spec) in channels.enumerated() {
                var channel = RelayChannel(name: "c\(index)", type: .openai, baseURL: "http://127.0.0.1:9", apiKeySealed: try secrets.seal("sk-\(index)"),
                                           keyFingerprint: "x", models: spec.models, modelMapping: [:], priority: spec.priority,
                                           weight: spec.weight, status: spec.status, now: 0)
                try channel.insert(db)
            }
        }
        let state = GatewayState(db: db, secrets: secrets, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        try await state.reload()
        return state
    }

    @Test func onlyTheModelsEnabledChannelsHighestPriorityFirst() async throws {
        let s = try await state([
            (["a"], 1, 1, .enabled), (["a"], 5, 1, .enabled), (["b"], 9, 1, .enabled), (["a"], 9, 1, .autoDisabled),
            (["a", "b"], 3, 1, .enabled), (["a"], 7, 1, .disabled),
        ])
        let (picked, known) = s.candidates(for: "a", limit: 10)
        #expect(known)
        #expect(picked.map(\.0.name) == ["c1", "c4", "c0"])
        #expect(picked.map(\.1) == ["sk-1", "sk-4", "sk-0"])
        #expect(s.candidates(for: "a", limit: 2).channels.map(\.0.name) == ["c1", "c4"])
        #expect(s.candidates(for: "a", limit: 10) { $0.priority < 5 }.channels.map(\.0.name) == ["c4", "c0"])
        #expect(s.candidates(for: "nope", limit: 3).known == false)
        let disabledOnly = try await state([(["z"], 1, 1, .disabled)])
        let none = disabledOnly.candidates(for: "z", limit: 3)
        #expect(none.known && none.channels.isEmpty)
    }

    @Test func weightsShareTrafficInsideAPriorityAndZeroGoesLast() async throws {
        let s = try await state([(["m"], 0, 1, .enabled), (["m"], 0, 3, .enabled), (["m"], 0, 0, .enabled)])
        var firsts: [String: Int] = [:]
        for _ in 0..<4000 {
            let picked = s.candidates(for: "m", limit: 3).channels.map(\.0.name)
            #expect(picked.count == 3 && picked.last == "c2")
            firsts[picked[0], default: 0] += 1
        }
        // 1:3 expected; 4,000 draws put the ratio within 2.3–3.9 with overwhelming probability.
        let ratio = Double(firsts["c1"] ?? 0) / Double(max(firsts["c0"] ?? 0, 1))
        #expect(ratio > 2.3 && ratio < 3.9, "\(firsts)")
        #expect(firsts["c2"] == nil)
    }
}
