import Foundation
import GRDB
import Scheduler
@_spi(Engine) import Store
import Testing
import TestSupport

@Suite(.serialized, .processDiagnostics) struct SettlementCrashTests {
    /// ledger total, checkpoint total and the sum of users.used, plus the checkpoint's log id and count.
    func books(_ db: AppDatabase) async throws -> (ledger: Int64, checkpoint: Int64, used: Int64, lastLogId: Int64, logs: Int64) {
        try await db.read { db in
            let row = try SQLRow.fetchOne(db, sql: "SELECT * FROM settlement_checkpoint")!
            return (try Int64.fetchOne(db, sql: "SELECT coalesce(sum(amount), 0) FROM ledger")!, try row["settled_amount"],
                    try Int64.fetchOne(db, sql: "SELECT sum(used) FROM users")!, try row["last_log_id"], try row["settled_logs"])
        }
    }

    /// kill -9 a `serve --role worker` process while it settles: what it committed is whole (ledger = settled =
    /// balance change at the moment of the kill), and a second worker finishes without settling any log twice.
    @Test(arguments: Engine.allCases) func killNineMidSettlementSettlesEachLogOnce(_ engine: Engine) async throws {
        let tmp = try TempDir()
        let database = try await DaemonDatabase(engine, tmp: tmp)
        let db = database.db
        let total = 100_000, userCount = 200
        try await db.write { db in
            for u in 0..<userCount {
                try db.execute(sql: "INSERT INTO users (name, quota, rate_multiplier_ppm, created_at, updated_at) VALUES (?, NULL, ?, 0, 0)",
                               arguments: ["u\(u)", 500_000 + u * 12_345])
            }
            try db.execute(sql: """
                WITH RECURSIVE seq(i) AS (SELECT CAST(0 AS BIGINT) UNION ALL SELECT i + 1 FROM seq WHERE i < \(total - 1))
                INSERT INTO usage_logs (request_id, user_id, key_id, model, prompt_tokens, completion_tokens, cost, created_at)
                SELECT 'r' || i, 1 + (i * 7919) % \(userCount), 1, 'm', 1, 1, 1 + (i * 104729) % 9999, 0 FROM seq
                """)
        }
        let queue = database.queue
        // Small batches (5,000 transactions): settlement became fast enough that 500-log batches ended before the kill.
        _ = try await queue.enqueue([NewJob(kind: "usage.settle", args: #"{"batch_size":20}"#, queue: "maintenance")])
        let workerArgs = ["serve", "--role", "worker"] + database.args + ["--artifacts-dir", tmp.path + "/artifacts",
                          "--queue", "maintenance=2", "--lease-ttl", "3", "--tick-ms", "500", "--log-level", "warning"]

        let first = try DaemonProcess(workerArgs, logDir: tmp.path, name: "first")
        #expect(await eventually(timeout: .seconds(60)) { try await books(db).lastLogId > 0 })
        first.signal(SIGKILL)
        _ = await first.waitForExit(timeout: .seconds(10))

        let atKill = try await books(db)
        #expect(atKill.lastLogId < Int64(total), "the kill should land mid-run")
        #expect(atKill.ledger == atKill.checkpoint && atKill.checkpoint == atKill.used, "committed batches are whole: \(atKill)")

        let second = try DaemonProcess(workerArgs, logDir: tmp.path, name: "second")
        #expect(await eventually(timeout: .seconds(180)) { try await books(db).lastLogId == Int64(total) })
        second.signal(SIGTERM)
        #expect(await second.waitForExit(timeout: .seconds(20)) == 0)

        let end = try await books(db)
        #expect(end.logs == Int64(total), "every log settled once")
        let owed = try await db.read { db in
            try Int64.fetchOne(db, sql: """
                SELECT sum((l.cost * u.rate_multiplier_ppm + 999999) / 1000000) FROM usage_logs l JOIN users u ON u.id = l.user_id
                """)!
        }
        #expect(end.ledger == owed && end.checkpoint == owed && end.used == owed)
        let ranges = try await db.read { db in
            try SQLRow.fetchAll(db, sql: "SELECT DISTINCT after_log_id, through_log_id FROM ledger ORDER BY after_log_id")
                .map { (try $0.get(0, as: Int64.self), try $0.get(1, as: Int64.self)) }
        }
        #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.1 == $1.0 }, "no range settled twice")
        #expect(!second.stderr.contains("database is locked"))
    }
}
