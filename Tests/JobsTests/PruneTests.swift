import Foundation
import GRDB
import Jobs
import Scheduler
@_spi(Engine) @testable import Store
import Testing
import TestSupport

@Suite struct PruneTests {
    /// `yard.prune` deletes finished jobs past the retention, keeps the rest, checkpoints the WAL and reports the
    /// database size before and after in an artifact that validates.
    @Test(arguments: Engine.allCases) func prunesCheckpointsAndReportsSizes(_ engine: Engine) async throws {
        let f = try await MaintenanceFixture(engine)
        let queue = f.store.queue
        _ = try await queue.enqueue((0..<30).map { _ in NewJob(kind: "noop") })
        let claimed = try await queue.fetch(acks: [], heartbeats: [], leaseTTL: .seconds(30),
                                            claim: ClaimRequest(queue: "default", owner: "t", limit: 20, leaseTTL: .seconds(30))).claimed
        _ = try await queue.fetch(acks: claimed.map { JobAck(lease: $0.lease, outcome: .completed) }, heartbeats: [],
                                  leaseTTL: .seconds(30), claim: nil)
        // Two finished import runs: one that ended before the retention (its events go), one that ended after.
        let oldEnd = f.clock.nowMillis()
        try await f.db.write { db in
            for (id, finished) in [("run_000000000000old1", oldEnd), ("run_000000000000new1", oldEnd + 3_590_000)] {
                var run = ImportRun(id: id, options: ImportOptions(), idempotencyKey: nil, requestDigest: "d", total: 0, search: "", now: oldEnd)
                run.state = .succeeded
                run.finishedAt = finished
                try run.insert(db)
                for _ in 0..<3 { try ImportEvent.append(db, runId: id, item: nil, type: "run.started", at: oldEnd) }
            }
        }
        f.clock.advance(by: .seconds(3600))
        let job = PruneJob(driver: queue, db: f.db, artifacts: f.artifacts, retention: .seconds(60))
        #expect(try await job.run(jobContext(kind: "yard.prune", id: 99)) == .completed)

        #expect(try await queue.counts().reduce(0) { $0 + $1.count } == 10, "the 10 unfinished jobs stay")
        let summary = try await ArtifactCheck.validSummary(in: try ArtifactCheck.folder(f.artifacts, kind: "yard.prune", id: 99), kind: "yard.prune")
        #expect(summary["jobs_deleted"] as? Int == 20)
        #expect(summary["run_events_deleted"] as? Int == 3)
        let left = try await f.db.read { db in try String.fetchAll(db, sql: "SELECT DISTINCT run_id FROM import_events") }
        #expect(left == ["run_000000000000new1"])
        #expect(summary["retention_s"] as? Int == 60)
        let after = summary["database_after"] as! [String: Any]
        #expect(after["wal_bytes"] as? Int == 0, "the truncating checkpoint empties the WAL")
        #expect((summary["database_before"] as! [String: Any])["file_bytes"] as! Int > 0)
    }
}
