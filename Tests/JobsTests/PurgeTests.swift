import Foundation
import GRDB
import Jobs
import Scheduler
@_spi(Engine) import Store
import Testing
import TestSupport

@Suite struct PurgeTests {
    /// Inserts a trace expiring at `traceExpires` with, when `payloadExpires` is set, a payload of `bytes` bytes.
    func trace(_ f: MaintenanceFixture, _ name: String, expires traceExpires: Int64, payload payloadExpires: Int64? = nil,
               bytes: Int = 100) async throws -> Int64 {
        try await f.db.write { db in
            var trace = Trace(requestId: name, endpoint: "/v1/chat/completions", createdAt: 0, expiresAt: traceExpires)
            trace.hasPayload = payloadExpires != nil
            try trace.insert(db)
            if let payloadExpires {
                try Payload(traceId: trace.id!, requestSealed: Data(count: bytes / 2), responseSealed: Data(count: bytes - bytes / 2),
                            requestTruncated: false, responseTruncated: false, bytes: Int64(bytes), expiresAt: payloadExpires).insert(db)
            }
            return trace.id!
        }
    }

    /// Exactly what expired goes, at the boundary too (`expires_at <= now`), and nothing else.
    @Test(arguments: Engine.allCases) func deletesExactlyWhatExpiredAndNothingElse(_ engine: Engine) async throws {
        let f = try await MaintenanceFixture(engine)
        let now = f.clock.nowMillis()
        let goneBoth = try await trace(f, "gone-both", expires: now - 1, payload: now - 1, bytes: 300)
        let goneTraceOnly = try await trace(f, "gone-trace", expires: now)
        let goneTraceLivePayload = try await trace(f, "gone-trace-live-payload", expires: now - 5, payload: now + 1000, bytes: 70)
        let keptTraceGonePayload = try await trace(f, "kept-trace", expires: now + 1, payload: now, bytes: 200)
        let keptBoth = try await trace(f, "kept-both", expires: now + 86_400_000, payload: now + 1, bytes: 50)
        let keptTraceOnly = try await trace(f, "kept-trace-only", expires: now + 1)
        // Dashboard rollups: a minute row past its two days goes, one inside them and an hour row of the same age stay.
        try await f.db.write { db in
            for (span, start) in [("m", now - 3 * 86_400_000), ("m", now - 86_400_000), ("h", now - 3 * 86_400_000)] {
                try db.execute(sql: """
                    INSERT INTO stat_rollups (span, start, model, channel_id, requests, errors, latency_ms_sum, ttft_ms_sum, ttft_count,
                    prompt_tokens, completion_tokens, cost) VALUES (?, ?, 'm', 1, 1, 0, 1, 0, 0, 0, 0, 0)
                    """, arguments: [span, start])
            }
        }

        let job = PurgeJob(db: f.db, artifacts: f.artifacts, clock: f.clock)
        #expect(try await job.run(jobContext(kind: "payloads.purge", id: 11)) == .completed)

        let (traces, payloads) = try await f.db.read { db in
            (try Trace.fetchAll(db, sql: "SELECT * FROM traces ORDER BY id"), try Payload.fetchAll(db, sql: "SELECT * FROM payloads ORDER BY trace_id"))
        }
        #expect(traces.map(\.id!) == [keptTraceGonePayload, keptBoth, keptTraceOnly])
        #expect(payloads.map(\.traceId) == [keptBoth])
        #expect(traces.map(\.hasPayload) == [false, true, false], "a trace whose payload went no longer claims one")
        _ = (goneBoth, goneTraceOnly, goneTraceLivePayload)

        let summary = try await ArtifactCheck.validSummary(in: try ArtifactCheck.folder(f.artifacts, kind: "payloads.purge", id: 11), kind: "payloads.purge")
        #expect(summary["payloads_deleted"] as? Int == 3)
        #expect(summary["payload_bytes_deleted"] as? Int == 300 + 200 + 70)
        #expect(summary["traces_deleted"] as? Int == 3)
        #expect(summary["rollup_rows_deleted"] as? Int == 1)
        #expect(try await f.db.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM stat_rollups") } == 2)
        #expect(summary["cutoff"] as? Int64 == now)
        let before = summary["database_before"] as! [String: Any], after = summary["database_after"] as! [String: Any]
        #expect((before["total_bytes"] as! Int) > 0 && (after["file_bytes"] as! Int) > 0)
    }

    /// Many rows in small batches: the count is exact, live rows stay, and the room comes back to the file.
    @Test(arguments: Engine.allCases) func purgesInSmallBatchesAndGivesRoomBack(_ engine: Engine) async throws {
        let f = try await MaintenanceFixture(engine)
        let now = f.clock.nowMillis()
        let blob = Data(repeating: 0xAB, count: 2000)
        try await f.db.write { db in
            for i in 0..<3000 {
                let expired = i % 3 != 0   // 2,000 expired, 1,000 live
                var trace = Trace(requestId: "r\(i)", endpoint: "/v1/chat/completions", createdAt: 0,
                                  expiresAt: expired ? now - 1 : now + 1)
                trace.hasPayload = true
                try trace.insert(db)
                try Payload(traceId: trace.id!, requestSealed: blob, responseSealed: blob, requestTruncated: false,
                            responseTruncated: false, bytes: 4000, expiresAt: expired ? now - 1 : now + 1).insert(db)
            }
        }
        let job = PurgeJob(db: f.db, artifacts: f.artifacts, clock: f.clock)
        #expect(try await job.run(jobContext(kind: "payloads.purge", id: 12, args: #"{"batch_size":250}"#)) == .completed)
        let summary = try await ArtifactCheck.validSummary(in: try ArtifactCheck.folder(f.artifacts, kind: "payloads.purge", id: 12), kind: "payloads.purge")
        #expect(summary["payloads_deleted"] as? Int == 2000 && summary["traces_deleted"] as? Int == 2000)
        #expect(summary["payload_bytes_deleted"] as? Int == 2000 * 4000)
        #expect(summary["batches"] as? Int == 8 + 8, "payloads, then traces, 250 a transaction")
        let counts = try await f.db.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM traces")!, try Int.fetchOne(db, sql: "SELECT count(*) FROM payloads")!)
        }
        #expect(counts == (1000, 1000))
        let before = summary["database_before"] as! [String: Any], after = summary["database_after"] as! [String: Any]
        if engine == .sqlite {
            #expect((after["total_bytes"] as! Int) < (before["total_bytes"] as! Int), "before \(before) after \(after)")
            #expect((summary["reclaim"] as! [String: Any])["pages_released"] as! Int > 0)
        } else {
            #expect((after["total_bytes"] as! Int) > 0, "PostgreSQL reports the database's size; autovacuum gives room back")
        }
    }
}
