import GatewayFixtures
import Artifacts
import Foundation
import GRDB
import Gateway
import HTTPTypes
import HummingbirdTesting
import Jobs
import MockUpstream
import NIOCore
@_spi(Engine) import Store
import Testing
import TestSupport

/// Rolling runs back, cancelling them, channels they hold, their event streams and their artifacts.
@Suite struct ImportLifecycleTests {
    @Test(arguments: Engine.allCases) func rollbackUndoesEachOutcomeAndWritesItsArtifact(_ engine: Engine) async throws {
        let f = try await ImportFixture(engine)
        try await f.run { client in
            // Before: one channel to be re-keyed, one to be patched, one disabled to be reactivated.
            let base = try await f.imported(client, [
                f.item("sk-old-key-00001", ["provider": "acme", "smoke_model": "gpt-4o-mini"]),
                f.item("sk-patch-me-0001", ["provider": "beta", "models": ["gpt-4o-mini"], "smoke_model": "gpt-4o-mini"]),
                f.item("sk-revive-me-001", ["provider": "gamma", "smoke_model": "gpt-4o-mini"]),
            ])
            let ids = base.items.compactMap { $0["channel_id"] as? Int64 }
            try await f.api(client, .patch, "/api/channels/\(ids[2])", ["status": "disabled"], expect: .ok)
            let before = try await f.channels(client).sorted { ($0["id"] as! Int64) < ($1["id"] as! Int64) }

            let second = try await f.imported(client, [
                f.item("sk-new-key-00001", ["provider": "acme", "smoke_model": "gpt-4o-mini"]),
                f.item("sk-patch-me-0001", ["provider": "beta", "models": ["gpt-4o-mini", "gpt-4o"], "smoke_model": "gpt-4o-mini"]),
                f.item("sk-revive-me-001", ["provider": "gamma", "smoke_model": "gpt-4o-mini"]),
                f.item("sk-brand-new-001", ["provider": "delta", "smoke_model": "gpt-4o-mini"]),
            ])
            #expect(second.items.map { $0["outcome"] as? String } == ["replaced", "patch_only", "reactivated", "created"])
            let runId = second.run["run_id"] as! String

            // A dry run reports and changes nothing.
            let preview = try await f.api(client, .post, "/api/batch-import/runs/\(runId)/rollback", ["dry_run": true], expect: .ok)
            #expect((preview["entries"] as? [[String: Any]])?.allSatisfy { $0["result"] as? String == "would_roll_back" } == true)
            #expect(try await f.channels(client).count == 4)

            let done = try await f.api(client, .post, "/api/batch-import/runs/\(runId)/rollback", expect: .ok)
            #expect(done["rolled_back"] as? Int == 4 && done["conflicts"] as? Int == 0)
            let after = try await f.channels(client).sorted { ($0["id"] as! Int64) < ($1["id"] as! Int64) }
            let fields = ["id", "key_fingerprint", "models", "status", "status_reason"]
            #expect(after.map { c in fields.map { "\(c[$0] ?? "nil")" } } == before.map { c in fields.map { "\(c[$0] ?? "nil")" } })
            let folder = try FileManager.default.contentsOfDirectory(atPath: f.artifactsDir + "/batch-import-rollback")
            #expect(folder.count == 1 && folder[0].hasSuffix(runId + "-" + String(done["at"] as! Int64)))
            try await expectValidArtifact(at: f.artifactsDir + "/batch-import-rollback/\(folder[0])/summary.json", kind: "batch-import-rollback")
            // Twice is nothing more.
            let again = try await f.api(client, .post, "/api/batch-import/runs/\(runId)/rollback", expect: .ok)
            #expect((again["entries"] as? [[String: Any]])?.allSatisfy { $0["result"] as? String == "already_rolled_back" } == true)
        }
    }

    @Test(arguments: Engine.allCases) func rollbackLeavesAChannelChangedSinceAndAnswers409(_ engine: Engine) async throws {
        let f = try await ImportFixture(engine)
        try await f.run { client in
            let result = try await f.imported(client, [f.item("sk-conflict-0001", ["smoke_model": "gpt-4o-mini"])])
            let id = try #require(result.items.first?["channel_id"] as? Int64)
            try await f.api(client, .patch, "/api/channels/\(id)", ["weight": 9], expect: .ok)
            let problem = try await f.api(client, .post, "/api/batch-import/runs/\(result.run["run_id"] as! String)/rollback",
                                          expect: .conflict)
            #expect((problem["detail"] as? String)?.contains("changed since") == true)
            #expect((try await f.api(client, .get, "/api/channels/\(id)"))["weight"] as? Int == 9)
        }
    }

    @Test(arguments: Engine.allCases) func aChannelHeldByARunningImportCannotBeDeletedUntilCancelled(_ engine: Engine) async throws {
        let f = try await ImportFixture(engine)
        try await f.run { client in
            let runId = try await f.start(client, [f.item("sk-held-chan-001", ["smoke_model": "gpt-4o-mini"]), f.item("sk-held-chan-002")],
                                          options: ["confirm_delay_s": 600])
            #expect(await eventually { try await f.channels(client).count == 2 })
            let id = try #require(try await f.channels(client).first?["id"] as? Int64)
            let problem = try await f.api(client, .delete, "/api/channels/\(id)", expect: .conflict)
            #expect(problem["type"] as? String == "in_use" && (problem["detail"] as? String)?.contains(runId) == true)
            #expect(try await f.channels(client).count == 2)

            let cancelled = try await f.api(client, .post, "/api/batch-import/runs/\(runId)/cancel", expect: .accepted)
            #expect((cancelled["progress"] as? [String: Any])?["remaining"] as? Int == 0)
            let run = try await f.finished(client, runId)
            #expect(run["state"] as? String == "cancelled")
            let summary = try f.typedSummary(run)
            #expect(summary.items.map(\.outcome) == ["cancelled", "cancelled"])
            #expect(try await f.channels(client).allSatisfy { $0["status"] as? String == "disabled" })
            try await f.api(client, .delete, "/api/channels/\(id)", expect: .noContent)
            try await f.api(client, .post, "/api/batch-import/runs/\(runId)/cancel", expect: .conflict)
            // The cancelled confirmation jobs never run.
            let live = try await f.db.read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM jobs WHERE kind = 'import.confirm' AND state != 'cancelled'")
            }
            #expect(live == 0)
        }
    }

    @Test(arguments: Engine.allCases) func eventsArriveInOrderAndResume(_ engine: Engine) async throws {
        let f = try await ImportFixture(engine)
        try await f.run { client in
            let runId = try await f.start(client, [f.item("sk-events-00001"), f.item("sk-events-00002")])
            let stream = try await client.execute(uri: "/api/batch-import/runs/\(runId)/events", method: .get, headers: ImportFixture.admin)
            #expect(stream.status == .ok && stream.headers[.contentType] == "text/event-stream")
            let events = parseSSE(String(buffer: stream.body))
            #expect(events.first?.type == "run.queued" && events.last?.type == "run.finished")
            #expect(events.map(\.id) == events.map(\.id).sorted() && Set(events.map(\.id)).count == events.count)
            #expect(events.filter { $0.type == "item.succeeded" }.count == 2)
            // Resuming after the third event replays exactly the rest.
            var headers = ImportFixture.admin
            headers[HTTPField.Name("Last-Event-ID")!] = String(events[2].id)
            let resumed = parseSSE(String(buffer: try await client.execute(
                uri: "/api/batch-import/runs/\(runId)/events", method: .get, headers: headers).body))
            #expect(resumed.map(\.id) == events.dropFirst(3).map(\.id))
            // The same events are in the artifact's events.jsonl.
            let run = try await f.finished(client, runId)
            let folder = URL(fileURLWithPath: run["artifact_path"] as! String).deletingLastPathComponent()
            let lines = try String(contentsOf: folder.appendingPathComponent("events.jsonl"), encoding: .utf8).split(separator: "\n")
            #expect(lines.count == events.count - 1)   // all but run.finished, written after the artifact
        }
    }

    @Test(arguments: Engine.allCases) func artifactMatchesItsSchemaAndCarriesNoKey(_ engine: Engine) async throws {
        let f = try await ImportFixture(engine, script: MockScript(rules: [FaultRule(key: "sk-SECRET-fails-01", fault: Fault(status: 401, echoKey: true))]))
        try await f.run { client in
            let result = try await f.imported(client, [f.item("sk-SECRET-works-01"), f.item("sk-SECRET-fails-01")])
            #expect(result.run["state"] as? String == "partially_succeeded")
            let path = result.run["artifact_path"] as! String
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
            #expect(folder.lastPathComponent.range(of: #"^\d{8}T\d{6}Z_run_[0-9a-f]{16}$"#, options: .regularExpression) != nil)
            try await expectValidArtifact(at: path, kind: "batch-import")
            #expect(try f.typedSummary(result.run).countMismatch() == nil)
            // Every item carries every status field, the one that stopped at its probe too: null where a step never ran.
            let summarized = try #require(try f.summary(result.run)["items"] as? [[String: Any]])
                .sorted { ($0["index"] as! Int) < ($1["index"] as! Int) }
            let statuses = ["batch_status", "provider_status", "access_status", "direct_chat_status", "upstream_chat_status"]
            for item in summarized { #expect(statuses.allSatisfy { item.keys.contains($0) }, "\(item)") }
            let (works, fails) = (summarized[0], summarized[1])
            #expect(works["direct_chat_status"] as? Int == 200 && works["upstream_chat_status"] as? Int == 200, "\(works)")
            #expect(fails["provider_status"] as? String == "auth_failed" && fails["access_status"] as? String == "not_reached")
            #expect(fails["direct_chat_status"] is NSNull && fails["upstream_chat_status"] is NSNull, "\(fails)")
            #expect(fails["channel_id"] is NSNull && fails["capabilities"] is NSNull && fails["smoke_model"] is NSNull, "\(fails)")
            for file in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
                let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
                #expect(!text.contains("sk-SECRET"), "\(file) carries a key")
            }
            let served = try await client.execute(uri: "/api/batch-import/runs/\(result.run["run_id"] as! String)/artifact",
                                                  method: .get, headers: ImportFixture.admin)
            let onDisk = try String(contentsOfFile: path, encoding: .utf8)
            #expect(served.status == .ok && String(buffer: served.body) == onDisk)
            let items = String(buffer: try await client.execute(uri: "/api/batch-import/runs/\(result.run["run_id"] as! String)/items",
                                                                method: .get, headers: ImportFixture.admin).body)
            #expect(!items.contains("sk-SECRET") && items.contains("auth_failed"))
        }
    }

    @Test(arguments: Engine.allCases) func startsArePacedByRatePerS(_ engine: Engine) async throws {
        let f = try await ImportFixture(engine)
        try await f.run { client in
            let items = (0..<8).map { f.item("sk-paced-key-00\($0)") }
            let result = try await f.imported(client, items, options: ["rate_per_s": 5, "concurrency": 8])
            #expect(result.run["state"] as? String == "succeeded")
            let runId = result.run["run_id"] as! String
            let starts = try await f.db.read { db in
                try Int64.fetchAll(db, sql: "SELECT start_at FROM import_items WHERE run_id = ? ORDER BY start_at", arguments: [runId])
            }
            #expect(starts.count == 8)
            #expect(zip(starts, starts.dropFirst()).allSatisfy { $1 - $0 == 200 }, "one start every 200 ms: \(starts)")
            // Each probe began no earlier than its reserved start.
            let began = try await f.db.read { db in
                try SQLRow.fetchAll(db, sql: """
                    SELECT i.start_at, min(e.at) AS at FROM import_items i JOIN import_events e
                      ON e.run_id = i.run_id AND e.item_index = i.idx AND e.type = 'item.probing'
                    WHERE i.run_id = ? GROUP BY i.idx, i.start_at
                    """, arguments: [runId])
            }
            let startedLate = try began.filter { try $0.get("at", as: Int64.self) < $0.get("start_at", as: Int64.self) }
            #expect(began.count == 8 && startedLate.isEmpty)
        }
    }

    @Test(arguments: Engine.allCases) func listFiltersByStateAndQuery(_ engine: Engine) async throws {
        let f = try await ImportFixture(engine)
        try await f.run { client in
            let ok = try await f.imported(client, [f.item("sk-list-000001", ["provider": "zeta"])])
            let dry = try await f.imported(client, [f.item("sk-list-000002", ["provider": "eta"])], options: ["dry_run": true])
            #expect(dry.items.first?["outcome"] as? String == "created" && dry.items.first?["access_status"] as? String == "skipped")
            #expect(try await f.channels(client).count == 1, "a dry run changes no channel")
            let all = try await f.api(client, .get, "/api/batch-import/runs?limit=1")
            #expect((all["data"] as? [[String: Any]])?.count == 1 && all["next_cursor"] is String)
            let next = try await f.api(client, .get, "/api/batch-import/runs?limit=1&cursor=\(all["next_cursor"] as! String)")
            #expect((next["data"] as? [[String: Any]])?.first?["run_id"] as? String == ok.run["run_id"] as? String)
            let zeta = try await f.api(client, .get, "/api/batch-import/runs?q=ZETA")
            #expect((zeta["data"] as? [[String: Any]])?.map { $0["run_id"] as? String } == [ok.run["run_id"] as? String])
            let failed = try await f.api(client, .get, "/api/batch-import/runs?state=failed")
            #expect((failed["data"] as? [Any])?.isEmpty == true)
            try await f.api(client, .get, "/api/batch-import/runs?state=bogus", expect: .badRequest)
            try await f.api(client, .get, "/api/batch-import/runs/run_doesnotexist", expect: .notFound)
        }
    }
}

/// Server-sent events of a finished stream: id, type and data of each.
func parseSSE(_ text: String) -> [(id: Int64, type: String, data: String)] {
    text.components(separatedBy: "\n\n").compactMap { block in
        var id: Int64?, type = "", data = ""
        for line in block.split(separator: "\n") {
            if line.hasPrefix("id: ") { id = Int64(line.dropFirst(4)) }
            if line.hasPrefix("event: ") { type = String(line.dropFirst(7)) }
            if line.hasPrefix("data: ") { data = String(line.dropFirst(6)) }
        }
        return id.map { ($0, type, data) }
    }
}

/// The artifact at `path` is valid under its schema for both the in-repo validator and python's jsonschema.
func expectValidArtifact(at path: String, kind: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    let schemaPath = PythonSchemaCheck.schemaPath(kind)
    #expect(try SchemaValidator.violations(json: data, schema: Data(contentsOf: URL(fileURLWithPath: schemaPath))) == [],
            sourceLocation: sourceLocation)
    let python = try await PythonSchemaCheck.violations(data, schemaPath: schemaPath)
    #expect(python == [], sourceLocation: sourceLocation)
}
