import Crypto
import Foundation
import Scheduler
@testable import Store
import Testing
import TestSupport

/// `switchyard db copy`'s engine: every table of a SQLite store lands in PostgreSQL with the same values, a copy cut
/// off resumes without doubling a row, a target holding data of its own is refused unless told, and sealed columns
/// are only copied with the key that opens them.
@Suite struct DatabaseCopyTests {
    static let secrets = SecretBox(key: SymmetricKey(size: .bits256))
    static let payloadKey = SecretBox(key: SymmetricKey(size: .bits256))
    static let keys = DatabaseCopy.Keys(secrets: secrets, payloads: payloadKey)
    static let now: Int64 = 1_800_000_000_000

    @Test func everySourceTableIsCopiedOrLeftBehindOnPurpose() async throws {
        let source = try await TestStore(.sqlite)
        let tables = try await source.db.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        }
        let known = Set(DatabaseCopy.tables.map(\.name)).union(DatabaseCopy.notCopied.keys)
        #expect(Set(tables).subtracting(known).isEmpty, "tables nobody decided about: \(Set(tables).subtracting(known))")
        #expect(known.subtracting(tables).isEmpty, "listed tables the source lacks: \(known.subtracting(tables))")
    }

    @Test func everyRowLandsWithTheSameValuesAndASecondRunCopiesNothing() async throws {
        let source = try await TestStore(.sqlite)
        let target = try await TestStore(.postgres)
        try await Self.fill(source.db, bulk: 450)
        let copy = try DatabaseCopy(from: source.db, to: target.db)

        let plan = try await copy.plan(keys: Self.keys, intoNonEmpty: false, now: Self.now)
        #expect(plan.resumedRows == 0 && plan.held.isEmpty)
        var seen: [Int64] = []
        let counts = try await copy.run(plan, batchRows: 100, now: { Self.now }) { done, _ in seen.append(done) }
        #expect(counts.allSatisfy { $0.source == $0.target && $0.copied == $0.source && $0.skipped == 0 }, "\(counts)")
        #expect(plan.mismatched(counts).isEmpty)
        #expect(counts.allSatisfy { $0.source > 0 }, "a table the fill left empty proves nothing: \(counts)")
        #expect(seen == seen.sorted() && seen.last == plan.sourceRows)
        try await Self.expectSameRows(source.db, target.db)

        // The identity sequences moved past the copied ids: a row numbered by PostgreSQL takes the next id.
        let next = try await target.db.write { db in
            try Int64.fetchOne(db, sql: "INSERT INTO users (name, created_at, updated_at) VALUES ('new', 1, 1) RETURNING id")
        }
        #expect(next == 451)
        try await target.db.write { db in try db.execute(sql: "DELETE FROM users WHERE id = 451") }

        // Run again: nothing is new, nothing is written twice; rows the source gained since are copied.
        let again = try await copy.plan(keys: Self.keys, intoNonEmpty: false, now: Self.now)
        #expect(again.held.isEmpty && again.resumedRows == plan.sourceRows)
        let second = try await copy.run(again, batchRows: 100, now: { Self.now }) { _, _ in }
        #expect(second.allSatisfy { $0.copied == 0 && $0.skipped == 0 && $0.target == $0.source }, "\(second)")
        try await source.db.write { db in
            try db.execute(sql: "INSERT INTO users (id, name, created_at, updated_at) VALUES (1000, 'late', 5, 5)")
        }
        let third = try await copy.run(try await copy.plan(keys: Self.keys, intoNonEmpty: false, now: Self.now), batchRows: 100,
                                       now: { Self.now }) { _, _ in }
        #expect(third.first { $0.table == "users" }?.copied == 1 && third.reduce(0) { $0 + $1.copied } == 1)
        try await Self.expectSameRows(source.db, target.db)
    }

    @Test func aCopyCutOffResumesWithoutDoublingARow() async throws {
        let source = try await TestStore(.sqlite)
        let target = try await TestStore(.postgres)
        try await Self.fill(source.db, bulk: 450)
        let copy = try DatabaseCopy(from: source.db, to: target.db)
        let plan = try await copy.plan(keys: Self.keys, intoNonEmpty: false, now: Self.now)

        // Cut off in the middle of the traces (the fifth batch of 50 overall is the first table's last).
        let cut = Task {
            try await copy.run(plan, batchRows: 50, now: { Self.now }) { done, table in
                if table == "traces" && done > 700 { withUnsafeCurrentTask { $0?.cancel() } }
            }
        }
        await #expect(throws: CancellationError.self) { try await cut.value }
        let partial = try await target.db.read { db in try Int64.fetchOne(db, sql: "SELECT count(*) FROM traces") ?? 0 }
        #expect(partial > 0 && partial < 450)

        // The same command again goes on where it stopped: it is not refused as a target holding data.
        let resumed = try await copy.plan(keys: Self.keys, intoNonEmpty: false, now: Self.now)
        #expect(resumed.held.isEmpty && resumed.resumedRows > 700)
        let counts = try await copy.run(resumed, batchRows: 50, now: { Self.now }) { _, _ in }
        #expect(counts.allSatisfy { $0.source == $0.target && $0.skipped == 0 }, "\(counts)")
        #expect(counts.first { $0.table == "traces" }?.copied == 450 - partial)
        try await Self.expectSameRows(source.db, target.db)
    }

    @Test func aTargetHoldingDataIsRefusedUnlessTold() async throws {
        let source = try await TestStore(.sqlite)
        let target = try await TestStore(.postgres)
        try await Self.fill(source.db, bulk: 20)
        // The target's own: a user whose id the source also uses, and a user it does not.
        try await target.db.write { db in
            try db.execute(sql: """
                INSERT INTO users (id, name, created_at, updated_at) VALUES (1, 'theirs', 1, 1), (500, 'other', 1, 1)
                """)
        }
        let copy = try DatabaseCopy(from: source.db, to: target.db)
        let refusal = await #expect(throws: StoreError.self) { try await copy.plan(keys: Self.keys, intoNonEmpty: false, now: Self.now) }
        #expect(refusal?.code == .conflict && refusal?.message.contains("users 2 rows") == true, "\(String(describing: refusal))")
        #expect(try await target.db.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM channels") } == 0)

        let plan = try await copy.plan(keys: Self.keys, intoNonEmpty: true, now: Self.now)
        #expect(plan.held == ["users": 2])
        let counts = try await copy.run(plan, batchRows: 100, now: { Self.now }) { _, _ in }
        let users = try #require(counts.first { $0.table == "users" })
        #expect(users.skipped == 1 && users.copied == 19 && users.target == 21)
        let kept = try await target.db.read { db in try String.fetchOne(db, sql: "SELECT name FROM users WHERE id = 1") }
        #expect(kept == "theirs")
    }

    @Test func sealedColumnsAreOnlyCopiedWithTheKeyThatOpensThem() async throws {
        let source = try await TestStore(.sqlite)
        let target = try await TestStore(.postgres)
        try await Self.fill(source.db, bulk: 5)
        let copy = try DatabaseCopy(from: source.db, to: target.db)
        let other = SecretBox(key: SymmetricKey(size: .bits256))
        for (keys, says) in [
            (DatabaseCopy.Keys(secrets: nil, payloads: Self.payloadKey), "give the secret key"),
            (DatabaseCopy.Keys(secrets: other, payloads: Self.payloadKey), "does not open the sealed channels rows"),
            (DatabaseCopy.Keys(secrets: Self.secrets, payloads: nil), "SWITCHYARD_PAYLOAD_KEY"),
            (DatabaseCopy.Keys(secrets: Self.secrets, payloads: other), "does not open the sealed payloads rows"),
        ] {
            let refusal = await #expect(throws: StoreError.self) { try await copy.plan(keys: keys, intoNonEmpty: false, now: Self.now) }
            #expect(refusal?.message.contains(says) == true, "\(String(describing: refusal))")
        }
        #expect(try await target.db.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM users") } == 0)
    }

    @Test func aRunningDaemonOnTheSourceIsRefused() async throws {
        let source = try await TestStore(.sqlite)
        let target = try await TestStore(.postgres)
        try await source.db.heartbeat(ClusterProcess(id: "h-1-abcdef", role: "gateway", host: "h", pid: 1, version: "t",
                                                     address: nil, startedAt: Self.now - 60_000, heartbeatAt: Self.now - 4_000))
        let copy = try DatabaseCopy(from: source.db, to: target.db)
        let refusal = await #expect(throws: StoreError.self) { try await copy.plan(keys: Self.keys, intoNonEmpty: false, now: Self.now) }
        #expect(refusal?.message.contains("process h-1-abcdef (gateway, pid 1 on h) heartbeat 4 s ago") == true,
                "\(String(describing: refusal))")
        // Dead for longer than the deadline: forgotten.
        _ = try await copy.plan(keys: Self.keys, intoNonEmpty: false, now: Self.now + 20_000)
    }

    // MARK: - Fixtures

    /// Rows in every copied table: `bulk` users, keys, traces and usage logs, a few of the rest, with NULLs, quotes,
    /// non-ASCII text, sealed blobs and jobs in every unfinished state (and finished ones, which stay behind).
    static func fill(_ db: AppDatabase, bulk: Int) async throws {
        let sealed = try secrets.seal("sk-upstream-секрет")
        let payload = try payloadKey.seal(#"{"messages":[{"role":"user","content":"héllo"}]}"#)
        try await db.write { db in
            for i in 1...bulk {
                try db.execute(sql: """
                    INSERT INTO users (id, name, quota, used, rate_multiplier_ppm, status, created_at, updated_at, exhausted_at)
                    VALUES (?, ?, ?, ?, 1500000, ?, ?, ?, ?)
                    """, arguments: [i, "user \"\(i)\" ünï", i % 3 == 0 ? nil : Int64(i) * 1_000_000, i * 7,
                                     i % 5 == 0 ? "disabled" : "active", now + Int64(i), now + Int64(i), i % 4 == 0 ? now : nil])
                try db.execute(sql: """
                    INSERT INTO api_keys (id, user_id, name, key_hash, fingerprint, models, quota, used, status, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, 0, 'active', ?, ?)
                    """, arguments: [i, i, "key \(i)", "hash-\(i)", "sk-…\(i)", i % 2 == 0 ? #"["gpt-4o", "claude"]"# : nil,
                                     i % 3 == 0 ? 100 : nil, now, now])
                try db.execute(sql: """
                    INSERT INTO traces (id, request_id, user_id, key_id, channel_id, model, endpoint, stream, status, attempts,
                    latency_ms, ttft_ms, prompt_tokens, completion_tokens, cost, error, has_payload, created_at, expires_at)
                    VALUES (?, ?, ?, ?, 1, 'gpt-4o', '/v1/chat/completions', ?, ?, 1, 12, ?, 10, 20, 300, ?, ?, ?, ?)
                    """, arguments: [i, "req-\(i)", i, i, i % 2, i % 7 == 0 ? 502 : 200, i % 2 == 1 ? 5 : nil,
                                     i % 7 == 0 ? "upstream said \\\"no\\\"\n{}" : nil, i <= 3 ? 1 : 0, now + Int64(i), now + 86_400_000])
                try db.execute(sql: """
                    INSERT INTO usage_logs (id, request_id, user_id, key_id, channel_id, model, prompt_tokens, completion_tokens,
                    cost, created_at) VALUES (?, ?, ?, ?, ?, 'gpt-4o', 10, 20, ?, ?)
                    """, arguments: [i, "req-\(i)", i, i, i % 9 == 0 ? nil : 1, Int64(i) * 311, now + Int64(i)])
                if i <= 20 {
                    try db.execute(sql: """
                        INSERT INTO stat_rollups (span, start, model, channel_id, requests, errors, latency_ms_sum, ttft_ms_sum,
                        ttft_count, prompt_tokens, completion_tokens, cost) VALUES (?, ?, 'gpt-4o', 1, ?, 1, 12, 5, 1, 10, 20, 300)
                        """, arguments: [i % 2 == 0 ? "m" : "h", Int64(i) * 60_000, i])
                    try db.execute(sql: """
                        INSERT INTO latency_rollups (span, start, model, channel_id, metric, le_ms, count) VALUES ('m', ?, 'gpt-4o', 1, ?, 20, ?)
                        """, arguments: [Int64(i) * 60_000, i % 2 == 0 ? "latency" : "ttft", i])
                }
            }
            try db.execute(sql: """
                INSERT INTO nodes (id, name, host, expected_ip, relay_url, relay_key_sealed, relay_key_fingerprint, status,
                use_hostname, health_failures, dns_addresses, last_error, last_checked_at, created_at, updated_at)
                VALUES (1, 'exit-1', 'exit.test', '127.0.0.2', 'https://exit.test:8443', ?, 'rk-…1', 'healthy', 1, 0,
                '["127.0.0.2"]', NULL, ?, ?, ?)
                """, arguments: [sealed, now, now, now])
            try db.execute(sql: """
                INSERT INTO channels (id, name, type, base_url, api_key_sealed, key_fingerprint, models, model_mapping, priority,
                weight, status, status_reason, failure_streak, created_at, updated_at, provider, family, capabilities, node_id)
                VALUES (1, 'main', 'openai', 'http://127.0.0.1:9/v1', ?, 'sk-…et', '["gpt-4o"]', '{"gpt-4":"gpt-4o"}', 5, 2,
                'enabled', NULL, 0, ?, ?, 'openai', 'gpt', '{"stream":true}', 1),
                (2, 'spare', 'anthropic', 'http://127.0.0.1:10', ?, 'sk-…et', '[]', '{}', 0, 1, 'auto_disabled',
                '3 consecutive failures, last: 502', 3, ?, ?, NULL, NULL, NULL, NULL)
                """, arguments: [sealed, now, now, sealed, now, now])
            try db.execute(sql: """
                INSERT INTO model_prices (name, input_price, output_price, updated_at) VALUES ('gpt-4o', 2500000, 10000000, ?),
                ('claude "x"', 3000000, 15000000, ?)
                """, arguments: [now, now])
            for trace in 1...3 {
                try db.execute(sql: """
                    INSERT INTO payloads (trace_id, request_sealed, response_sealed, request_truncated, response_truncated, bytes,
                    expires_at) VALUES (?, ?, ?, 0, ?, 120, ?)
                    """, arguments: [trace, payload, trace == 2 ? nil : payload, trace == 3 ? 1 : 0, now + 3_600_000])
                try db.execute(sql: "INSERT INTO payload_audit (trace_id, actor, reason, at) VALUES (?, 'admin', 'ticket #4 ''why''', ?)",
                               arguments: [trace, now])
            }
            try db.execute(sql: "UPDATE settlement_checkpoint SET last_log_id = 10, settled_logs = 10, settled_amount = 17105, updated_at = ?",
                           arguments: [now])
            try db.execute(sql: """
                INSERT INTO ledger (user_id, kind, amount, cost, rate_multiplier_ppm, log_count, after_log_id, through_log_id,
                balance_after, created_at) VALUES (1, 'settle', 466, 311, 1500000, 1, 0, 10, NULL, ?), (2, 'settle', 933, 622,
                1500000, 1, 0, 10, 1000, ?)
                """, arguments: [now, now])
            try db.execute(sql: """
                INSERT INTO import_runs (id, state, options, idempotency_key, request_digest, total, search, artifact_path,
                created_at, started_at, finished_at, next_start_at) VALUES ('run-1', 'partially_succeeded', '{"concurrency":4}',
                'idem-1', 'digest', 2, 'openai main', 'artifacts/imports/run-1.json', ?, ?, ?, 0),
                ('run-2', 'running', '{}', NULL, 'digest2', 1, '', NULL, ?, ?, NULL, ?)
                """, arguments: [now, now, now, now, now, now + 1000])
            try db.execute(sql: """
                INSERT INTO import_items (run_id, idx, base_url, api_key_sealed, key_fingerprint, provider, requested_models,
                smoke_model, name, state, probe_until, start_at, outcome, planned_outcome, classification, channel_id, models,
                capabilities, provider_status, access_status, direct_chat_status, upstream_chat_status, attempts, trail, detail,
                updated_at) VALUES ('run-1', 0, 'http://127.0.0.1:9/v1', ?, 'sk-…et', 'openai', '["gpt-4o"]', 'gpt-4o', 'main',
                'succeeded', NULL, ?, 'created', 'created', 'ok', 1, '["gpt-4o"]', '{"stream":true}', 'ok', 'ok', 200, 200, 1,
                '[{"step":"probe"}]', NULL, ?), ('run-1', 1, 'http://127.0.0.1:10', ?, 'sk-…et', NULL, NULL, NULL, NULL, 'failed',
                ?, NULL, 'failed', NULL, 'auth_failed', NULL, NULL, NULL, NULL, NULL, 401, NULL, 3, '[]', 'HTTP 401: bad key', ?),
                ('run-2', 0, 'http://127.0.0.1:11', ?, 'sk-…et', NULL, NULL, NULL, NULL, 'probing', ?, ?, NULL, NULL, NULL, NULL,
                NULL, NULL, NULL, NULL, NULL, NULL, 1, '[]', NULL, ?)
                """, arguments: [sealed, now, now, sealed, now, now, sealed, now, now, now])
            try db.execute(sql: """
                INSERT INTO import_changes (run_id, item_index, channel_id, action, before, after_digest, rolled_back_at)
                VALUES ('run-1', 0, 1, 'created', NULL, 'after', NULL), ('run-1', 0, 1, 'patched', '{"models":[]}', 'after2', ?)
                """, arguments: [now])
            try db.execute(sql: """
                INSERT INTO import_events (run_id, item_index, type, data, at) VALUES ('run-1', NULL, 'run', '{"state":"running"}', ?),
                ('run-1', 0, 'item', '{"outcome":"created"}', ?)
                """, arguments: [now, now])
            try db.execute(sql: """
                INSERT INTO reconcile_runs (id, state, dry_run, trigger, job_id, total, artifact_path, error, created_at, started_at,
                finished_at) VALUES ('rec-1', 'succeeded', 1, 'api', 7, 1, 'artifacts/reconcile/rec-1.json', NULL, ?, ?, ?)
                """, arguments: [now, now, now])
            try db.execute(sql: """
                INSERT INTO reconcile_results (run_id, channel_id, name, provider, key_fingerprint, drift, applied, before, after,
                detail, finished_at) VALUES ('rec-1', 1, 'main', 'openai', 'sk-…et', 'models_added', 0, '{"models":["gpt-4o"]}',
                '{"models":["gpt-4o","o3"]}', 'o3 appeared', ?), ('rec-1', 2, 'spare', NULL, 'sk-…et', NULL, 0, '{}', NULL, NULL, NULL)
                """, arguments: [now])
            try db.execute(sql: """
                INSERT INTO schedules (name, kind, queue, args, interval_ms, enabled, last_slot_at, last_job_id, updated_at)
                VALUES ('yard.prune', 'yard.prune', 'maintenance', '{"keep_days": 7}', 3600000, 0, ?, 3, ?),
                ('yard.purge', 'yard.purge', 'maintenance', '{}', 60000, 1, NULL, NULL, ?)
                """, arguments: [now, now, now])
            for (id, state) in ["available", "scheduled", "running", "retryable", "completed", "discarded"].enumerated() {
                try db.execute(sql: """
                    INSERT INTO jobs (id, kind, queue, args, state, priority, attempt, max_attempts, run_at, retry_until, lease_owner,
                    lease_token, lease_expires_at, unique_key, errors, created_at, attempted_at, finalized_at)
                    VALUES (?, 'import.item', 'imports', ?, ?, 1, ?, 5, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [id + 1, #"{"run_id": "run-2", "index": 0, "note": "ü \"q\""}"#, state, state == "available" ? 0 : 1,
                                     now, state == "retryable" ? now + 60_000 : nil, state == "running" ? "w-1" : nil,
                                     state == "running" ? 9 : nil, state == "running" ? now + 30_000 : nil,
                                     state == "scheduled" ? "import.item:run-2:0" : nil,
                                     state == "retryable" ? #"[{"attempt":1,"error":"timeout"}]"# : nil, now,
                                     state == "available" ? nil : now, ["completed", "discarded"].contains(state) ? now : nil])
            }
        }
    }

    /// Every copied table holds the same rows on both sides (JSON columns compared as JSON: PostgreSQL's `JSONB`
    /// keeps its own spacing and key order).
    static func expectSameRows(_ source: AppDatabase, _ target: AppDatabase) async throws {
        for table in DatabaseCopy.tables {
            let columns = try await source.read { db in
                try String.fetchAll(db, sql: "SELECT name FROM pragma_table_info(?)", arguments: [table.name])
            }
            let select = "SELECT \(columns.joined(separator: ", ")) FROM \(table.name)"
            let filter = table.name == "jobs" ? " WHERE state IN ('available','scheduled','running','retryable')" : ""
            func rows(_ db: AppDatabase) async throws -> [String] {
                try await db.read { db in
                    try SQLRow.fetchAll(db, sql: select + filter).map { row in
                        zip(row.columns, row.values).map { column, value in
                            if ["args", "errors"].contains(column), case .text(let text) = value,
                               let json = try? JSONSerialization.jsonObject(with: Data(text.utf8)),
                               let sorted = try? JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]) {
                                return "\(column)=" + String(decoding: sorted, as: UTF8.self)
                            }
                            if case .blob(let data) = value { return "\(column)=0x" + data.map { String(format: "%02x", $0) }.joined() }
                            return "\(column)=\(value)"
                        }.joined(separator: "|")
                    }.sorted()
                }
            }
            let (expected, copied) = (try await rows(source), try await rows(target))
            #expect(expected == copied, "\(table.name) differs")
        }
    }
}
