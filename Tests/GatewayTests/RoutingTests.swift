import Crypto
import Foundation
@testable import Gateway
import Logging
import Scheduler
@_spi(Engine) import Store
import Testing

/// Channel choice: only the model's channels, enabled ones, priority first, weights inside a priority, and no
/// more than asked for.
@Suite struct RoutingTests {
    let secrets = SecretBox(key: SymmetricKey(size: .bits256))
    let db: AppDatabase

    init() throws { db = try AppDatabase.open(dataDir: NSTemporaryDirectory() + "switchyard-routing-" + UUID().uuidString) }

    func state(_ channels: [(models: [String], priority: Int, weight: Int, status: RelayChannel.Status)],
               key: @escaping @Sendable (Int) -> String = { "sk-\($0)" }) async throws -> GatewayState {
        let secrets = self.secrets
        try await db.write { db in
            for (index, spec) in channels.enumerated() {
                var channel = RelayChannel(name: "c\(index)", type: .openai, baseURL: "http://127.0.0.1:9", apiKeySealed: try secrets.seal(key(index)),
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
        let disabledOnly = try await RoutingTests().state([(["z"], 1, 1, .disabled)])
        let none = disabledOnly.candidates(for: "z", limit: 3)
        #expect(none.known && none.channels.isEmpty)
    }

    /// A key stored some other way than the API (which refuses it) that could break a header line is never routed to.
    @Test func aKeyThatIsNotHeaderSafeKeepsItsChannelOutOfRouting() async throws {
        let s = try await state([(["a"], 9, 1, .enabled), (["a"], 1, 1, .enabled)]) { $0 == 0 ? "sk-0\r\nx-evil: 1" : "sk-\($0)" }
        #expect(s.candidates(for: "a", limit: 10).channels.map(\.0.name) == ["c1"])
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

    @Test func reloadOnlyWhenTheDatabaseChangedAndPinnedChannelsRefreshInPlace() async throws {
        let s = try await state([(["m"], 0, 1, .enabled)])
        #expect(try await s.reloadIfChanged() == false)
        try await db.write { db in try db.execute(sql: "UPDATE channels SET status = 'auto_disabled', updated_at = 5") }
        #expect(try await s.reloadIfChanged() == true)
        #expect(s.candidates(for: "m", limit: 3).channels.isEmpty)
        #expect(try await s.reloadIfChanged(maxAge: .zero) == true, "an old snapshot is read again anyway")
        // Only channels added: read incrementally, index included.
        try await db.write { [secrets] db in
            var channel = RelayChannel(name: "more", type: .openai, baseURL: "http://127.0.0.1:9", apiKeySealed: try secrets.seal("sk-more"),
                                       keyFingerprint: "x", models: ["m"], modelMapping: [:], priority: 0, weight: 1, status: .enabled, now: 9)
            try channel.insert(db)
        }
        #expect(try await s.reloadIfChanged() == true)
        #expect(s.candidates(for: "m", limit: 3).channels.map(\.1) == ["sk-more"])
        #expect(try await s.reloadIfChanged() == false)

        // A channel added and changed behind the snapshot's back: a refresh by id brings it in, index included.
        let id = try await db.write { [secrets] db -> Int64 in
            var channel = RelayChannel(name: "new", type: .openai, baseURL: "http://127.0.0.1:9", apiKeySealed: try secrets.seal("sk-new"),
                                       keyFingerprint: "x", models: ["n"], modelMapping: [:], priority: 0, weight: 1, status: .enabled, now: 0)
            try channel.insert(db)
            return channel.id!
        }
        try await s.refresh(channelId: id)
        #expect(s.candidates(for: "n", limit: 3).channels.map(\.1) == ["sk-new"])
        try await db.write { db in try db.execute(sql: "UPDATE channels SET models = '[\"o\"]' WHERE id = ?", arguments: [id]) }
        try await s.refresh(channelId: id)
        #expect(s.candidates(for: "n", limit: 3).channels.isEmpty && s.candidates(for: "o", limit: 3).channels.count == 1)
        // Changes that only routing reads (priority, status) rebuild the routes; re-reading an unchanged channel
        // keeps them.
        try await db.write { [secrets] db in
            var channel = RelayChannel(name: "low", type: .openai, baseURL: "http://127.0.0.1:9", apiKeySealed: try secrets.seal("sk-low"),
                                       keyFingerprint: "x", models: ["o"], modelMapping: [:], priority: -1, weight: 1, status: .enabled, now: 0)
            try channel.insert(db)
        }
        try await s.reloadIfChanged(maxAge: .zero)
        #expect(s.candidates(for: "o", limit: 3).channels.map(\.1) == ["sk-new", "sk-low"])
        try await db.write { db in try db.execute(sql: "UPDATE channels SET priority = 5 WHERE name = 'low'") }
        try await s.refresh(channelId: id)
        #expect(s.candidates(for: "o", limit: 3).channels.map(\.1) == ["sk-new", "sk-low"], "only channel \(id) was re-read")
        try await db.write { db in try db.execute(sql: "UPDATE channels SET updated_at = 100 WHERE name = 'low'") }
        #expect(try await s.reloadIfChanged() == true)
        #expect(s.candidates(for: "o", limit: 3).channels.map(\.1) == ["sk-low", "sk-new"])
        try await db.write { db in try db.execute(sql: "UPDATE channels SET status = 'auto_disabled', updated_at = 101 WHERE id = ?", arguments: [id]) }
        #expect(try await s.reloadIfChanged() == true)
        #expect(s.candidates(for: "o", limit: 3).channels.map(\.1) == ["sk-low"])
        try await db.write { db in try db.execute(sql: "UPDATE channels SET status = 'enabled', updated_at = 102 WHERE id = ?", arguments: [id]) }
        try await s.refresh(channelId: id)
        #expect(s.candidates(for: "o", limit: 3).channels.map(\.1) == ["sk-low", "sk-new"])

        try await db.write { db in _ = try RelayChannel.deleteOne(db, key: id) }
        try await s.refresh(channelId: id)
        #expect(s.candidates(for: "o", limit: 3).channels.map(\.1) == ["sk-low"])
    }
}
