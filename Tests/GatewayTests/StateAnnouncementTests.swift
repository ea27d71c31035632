import Crypto
import Foundation
@testable import Gateway
import Logging
import Scheduler
@_spi(Engine) import Store
import Synchronization
import Testing
import TestSupport

/// On PostgreSQL every change to what gateways route and authenticate by is announced with the rows it touched, and a
/// gateway reads those rows, not the tables.
@Suite struct StateAnnouncementTests {
    let secrets = SecretBox(key: SymmetricKey(size: .bits256))

    /// Announcements heard on the state channel, in order.
    final class Heard: Sendable {
        let payloads = Mutex<[String?]>([])
        var all: [String?] { payloads.withLock { $0 } }
        func take() -> StateChanges {
            payloads.withLock { taken in
                defer { taken = [] }
                var changes = StateChanges()
                for payload in taken { changes.add(announcement: payload) }
                return changes
            }
        }
    }

    func listening(_ db: AppDatabase) async throws -> (Heard, Task<Void, Never>) {
        let heard = Heard()
        let task = Task { await db.listenForStateChanges(logger: testLogger) { payload in heard.payloads.withLock { $0.append(payload) } } }
        try #require(await eventually(timeout: .seconds(10)) { heard.all.contains { $0 == nil } }, "listening")
        _ = heard.take()
        return (heard, task)
    }

    /// Waits for the announcement a sentinel statement makes, so every announcement before it has been heard.
    func heardUpTo(_ db: AppDatabase, _ heard: Heard) async throws -> StateChanges {
        let sentinel = "sentinel-\(UUID().uuidString)"
        try await db.write { db in
            try db.execute(sql: "INSERT INTO model_prices (name, input_price, output_price, updated_at) VALUES (?, 0, 0, 0)", arguments: [sentinel])
        }
        try #require(await eventually(timeout: .seconds(10)) { heard.all.contains { $0?.contains(sentinel) == true } })
        var changes = heard.take()
        changes.prices.remove(sentinel)
        return changes
    }

    @Test func announcementsNameTheRowsAStatementChanged() async throws {
        let t = try await TestStore(.postgres)
        let (heard, task) = try await listening(t.db)
        defer { task.cancel() }

        try await t.db.write { db in
            try db.execute(sql: "INSERT INTO users (id, name, created_at, updated_at) VALUES (1, 'a', 0, 0), (2, 'b', 0, 0), (3, 'c', 0, 0)")
            try db.execute(sql: """
                INSERT INTO api_keys (id, user_id, name, key_hash, fingerprint, created_at, updated_at)
                VALUES (10, 1, 'k', 'h10', 'f', 0, 0), (11, 2, 'k', 'h11', 'f', 0, 0)
                """)
        }
        var changes = try await heardUpTo(t.db, heard)
        #expect(changes.users == [1, 2, 3] && changes.keys == [10, 11] && !changes.everything)

        // The writer's spend (updated_at unchanged) and a statement matching no row announce nothing.
        try await t.db.write { db in
            try db.execute(sql: "UPDATE api_keys SET used = used + 5")
            try db.execute(sql: "UPDATE users SET quota = 1 WHERE id = 99")
        }
        #expect(try await heardUpTo(t.db, heard).isEmpty)

        // A revoked key is named; a price by its name, quotes and all; a deleted row too.
        try await t.db.write { db in
            try db.execute(sql: "UPDATE api_keys SET status = 'disabled', updated_at = 1, used = used + 1 WHERE id = 11")
            try db.execute(sql: #"INSERT INTO model_prices (name, input_price, output_price, updated_at) VALUES ('a "quoted", name', 1, 1, 1)"#)
            try db.execute(sql: "DELETE FROM users WHERE id = 3")
        }
        changes = try await heardUpTo(t.db, heard)
        #expect(changes.keys == [11] && changes.prices == [#"a "quoted", name"#] && changes.users == [3] && !changes.everything)

        // The record writer's spend is its own announcement: capped keys' spend is read again, nothing else.
        var spend = StateChanges()
        spend.add(announcement: AppDatabase.spendAnnouncement)
        #expect(spend.spend && !spend.everything && !spend.isEmpty)

        // Too many rows for one announcement: the table is named without rows, so the reader reloads everything.
        try await t.db.write { db in
            try db.execute(sql: "INSERT INTO users (id, name, created_at, updated_at) SELECT n, 'bulk', 0, 0 FROM generate_series(100, 3100) AS n")
        }
        #expect(try await heardUpTo(t.db, heard).everything)
    }

    @Test func aGatewayReadsTheAnnouncedRowsNotTheTables() async throws {
        let t = try await TestStore(.postgres)
        let sealed = try secrets.seal("sk-upstream")
        try await t.db.write { db in
            try db.execute(sql: "INSERT INTO users (id, name, created_at, updated_at) VALUES (1, 'a', 0, 0)")
            for (id, plain) in [(10, "sk-client-a"), (11, "sk-client-b")] {
                try db.execute(sql: """
                    INSERT INTO api_keys (id, user_id, name, key_hash, fingerprint, created_at, updated_at) VALUES (?, 1, 'k', ?, 'f', 0, 0)
                    """, arguments: [id, Fingerprint.sha256Hex(plain)])
            }
            try db.execute(sql: """
                INSERT INTO nodes (id, name, host, expected_ip, relay_url, relay_key_sealed, relay_key_fingerprint, status, created_at,
                updated_at) VALUES (1, 'edge', 'localhost', '127.0.0.1', 'http://localhost:9', ?, 'f', 'healthy', 0, 0)
                """, arguments: [sealed])
            try db.execute(sql: """
                INSERT INTO channels (id, name, type, base_url, api_key_sealed, key_fingerprint, models, created_at, updated_at, node_id)
                VALUES (1, 'direct', 'openai', 'http://127.0.0.1:9', ?, 'f', '["m"]', 0, 0, NULL),
                (2, 'via-node', 'openai', 'http://127.0.0.1:9', ?, 'f', '["m"]', 0, 0, 1)
                """, arguments: [sealed, sealed])
        }
        let state = GatewayState(db: t.db, secrets: secrets, logger: testLogger)
        try await state.reload()
        let (heard, task) = try await listening(t.db)
        defer { task.cancel() }
        #expect(state.candidates(for: "m", limit: 5).channels.count == 2)

        // Key a revoked (announced); key b revoked with announcements switched off, as if its announcement were lost.
        try await t.db.write { db in
            try db.execute(sql: "UPDATE api_keys SET status = 'disabled', updated_at = 1 WHERE id = 10")
            try db.execute(sql: "SET LOCAL session_replication_role = replica")
            try db.execute(sql: "UPDATE api_keys SET status = 'disabled', updated_at = 1 WHERE id = 11")
        }
        // The node goes unhealthy: the channel bound to it leaves routing.
        try await t.db.write { db in try db.execute(sql: "UPDATE nodes SET status = 'unhealthy', updated_at = 2 WHERE id = 1") }
        let changes = try await heardUpTo(t.db, heard)
        #expect(changes.keys == [10] && changes.nodes == [1])
        try await state.reload(changes)
        #expect(state.authenticate("sk-client-a")?.key.status == "disabled")
        #expect(state.authenticate("sk-client-b")?.key.status == "active", "only the announced key was read")
        #expect(state.candidates(for: "m", limit: 5).channels.map(\.0.name) == ["direct"])

        // The periodic look is the safety net: the marks moved beyond what the announced rows explain.
        try await t.db.write { db in
            try db.execute(sql: "SET LOCAL session_replication_role = replica")
            try db.execute(sql: "UPDATE api_keys SET updated_at = 2 WHERE id = 11")
        }
        #expect(try await state.reloadIfChanged() == true)
        #expect(state.authenticate("sk-client-b")?.key.status == "disabled")
        #expect(try await state.reloadIfChanged() == false)

        // A deleted key no longer authenticates; everything (a lost connection) is a full reload.
        try await t.db.write { db in try db.execute(sql: "DELETE FROM api_keys WHERE id = 10") }
        try await state.reload(try await heardUpTo(t.db, heard))
        #expect(state.authenticate("sk-client-a") == nil && state.authenticate("sk-client-b") != nil)
        var everything = StateChanges()
        everything.add(announcement: nil)
        #expect(everything.everything)
        try await state.reload(everything)
        #expect(try await state.reloadIfChanged() == false)
    }
}
