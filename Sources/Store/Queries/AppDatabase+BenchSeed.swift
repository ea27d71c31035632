import Foundation

/// Synthetic rows for the benchmark programs (`switchyard bench settle|maintenance`): bulk inserts that no
/// request path makes, kept here so the benches reach the database only through the store.
extension AppDatabase {
    /// `count` users named `bench-<n>` with multipliers spread from 0.5× to 2.5×.
    public func seedBenchUsers(_ count: Int) async throws {
        try await write { db in
            for u in 0..<count {
                try db.execute(sql: """
                    INSERT INTO users (name, quota, rate_multiplier_ppm, created_at, updated_at) VALUES (?, NULL, ?, 0, 0)
                    """, arguments: ["bench-\(u)", 500_000 + (u % 9) * 250_000 + u % 7])
            }
        }
    }

    /// Usage logs `seed-<from>` … of key 1, spread over `users` users with costs 1 to 5,000, in one transaction.
    public func seedBenchUsageLogs(from start: Int, to end: Int, users: Int) async throws {
        try await write { db in
            for i in start..<end {
                try db.execute(sql: Self.insertBenchUsageLog, arguments: ["seed-\(i)", 1 + (i * 7919) % users, 1 + (i * 104_729) % 5000])
            }
        }
    }

    /// `count` usage logs with random ids, users and costs, in one transaction: what a gateway's writer commits.
    public func writeBenchUsageBatch(_ count: Int, users: Int) async throws {
        try await write { db in
            for _ in 0..<count {
                try db.execute(sql: Self.insertBenchUsageLog, arguments: [UUID().uuidString, Int.random(in: 1...users), Int.random(in: 1...5000)])
            }
        }
    }

    /// A usage log of key 1 and channel 1 with the request id, user and cost bound.
    static let insertBenchUsageLog = """
        INSERT INTO usage_logs (request_id, user_id, key_id, channel_id, model, prompt_tokens, completion_tokens, cost, created_at)
        VALUES (?, ?, 1, 1, 'gpt-4o-mini', 100, 20, ?, 0)
        """

    /// The totals settlement must keep equal (ledger, checkpoint, users' `used`) and the logs not yet settled.
    public func settlementBooks() async throws -> (ledger: Int64, checkpoint: Int64, used: Int64, unsettled: Int) {
        try await read { db in
            let ledger = try Int64.fetchOne(db, sql: "SELECT coalesce(sum(amount), 0) FROM ledger") ?? -1
            let checkpoint = try Int64.fetchOne(db, sql: "SELECT settled_amount FROM settlement_checkpoint") ?? -1
            let used = try Int64.fetchOne(db, sql: "SELECT coalesce(sum(used), 0) FROM users") ?? -1
            let unsettled = try Int.fetchOne(db, sql: """
                SELECT count(*) FROM usage_logs WHERE id > (SELECT last_log_id FROM settlement_checkpoint)
                """) ?? -1
            return (ledger, checkpoint, used, unsettled)
        }
    }

    /// What `bench maintenance` works on.
    public enum BenchRows: Sendable { case expiredTraces, unsettledLogs }

    /// `total` rows generated in SQL alone (a recursive sequence), in 100,000-row transactions: expired traces with a
    /// payload on every fifth, or usage logs of one user (created here) to settle.
    public func seedBench(_ rows: BenchRows, total: Int) async throws {
        let expired: Int64 = 1_000   // long before now
        if rows == .unsettledLogs {
            try await write { db in
                try db.execute(sql: "INSERT INTO users (name, quota, rate_multiplier_ppm, created_at, updated_at) VALUES ('seed', NULL, 1500000, 0, 0)")
            }
        }
        for start in stride(from: 0, to: total, by: 100_000) {
            let count = min(100_000, total - start)
            try await write { db in
                let sequence = "WITH RECURSIVE seq(i) AS (SELECT \(start) UNION ALL SELECT i + 1 FROM seq WHERE i < \(start + count - 1))"
                switch rows {
                case .expiredTraces:
                    try db.execute(sql: """
                        \(sequence) INSERT INTO traces (request_id, endpoint, status, latency_ms, created_at, expires_at, has_payload)
                        SELECT 'seed-' || i, '/v1/chat/completions', 200, 5, \(expired), \(expired), CASE WHEN i % 5 = 0 THEN 1 ELSE 0 END FROM seq
                        """)
                    let kilobyte = db.engine == .sqlite ? "randomblob(1024)" : "decode(repeat(md5(random()::text), 32), 'hex')"
                    try db.execute(sql: """
                        INSERT INTO payloads (trace_id, request_sealed, response_sealed, bytes, expires_at)
                        SELECT id, \(kilobyte), \(kilobyte), 2048, \(expired) FROM traces
                        WHERE has_payload = 1 AND id > (SELECT coalesce(max(trace_id), 0) FROM payloads)
                        """)
                case .unsettledLogs:
                    try db.execute(sql: """
                        \(sequence) INSERT INTO usage_logs (request_id, user_id, key_id, model, prompt_tokens, completion_tokens, cost, created_at)
                        SELECT 'seed-' || i, 1, 1, 'gpt-4o-mini', 10, 20, 1 + i % 5000, 0 FROM seq
                        """)
                }
            }
        }
    }
}
