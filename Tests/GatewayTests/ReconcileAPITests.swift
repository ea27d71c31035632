import GatewayFixtures
import Artifacts
import Foundation
import Gateway
import GRDB
import HTTPTypes
import HummingbirdTesting
import Jobs
import NIOCore
import Scheduler
@_spi(Engine) import Store
import Testing
import TestSupport

/// `/api/reconcile/runs` (202, list with cursor, show, 404, 400), the schedule, the delete guard and the artifact.
@Suite struct ReconcileAPITests {
    @Test(arguments: Engine.allCases) func startListShowAndBadRequests(_ engine: Engine) async throws {
        let f = try await ImportFixture(engine)
        _ = try await f.channel("sk-rec-api-000001")
        try await f.run { client in
            let first = try await f.reconciled(client, dryRun: true)
            let second = try await f.reconciled(client)
            #expect(first["dry_run"] as? Bool == true && second["dry_run"] as? Bool == false)
            #expect(first["total"] as? Int == 1 && (first["progress"] as? [String: Any])?["percent"] as? Int == 100)
            #expect((second["results"] as? [[String: Any]])?.first?["drift"] as? String == "in_sync")

            let created = try await client.execute(uri: "/api/reconcile/runs", method: .post, headers: ImportFixture.admin)
            #expect(created.status == .accepted)
            let body = try #require(try JSONSerialization.jsonObject(with: Data(buffer: created.body)) as? [String: Any])
            let id = try #require(body["run_id"] as? String)
            #expect(created.headers[.location] == "/api/reconcile/runs/\(id)")
            #expect(body["state"] as? String == "queued" && body["dry_run"] as? Bool == false)

            // Newest first, one per page, following next_cursor to the end.
            var seen: [String] = []
            var uri = "/api/reconcile/runs?limit=1"
            while true {
                let page = try await f.api(client, .get, uri, expect: .ok)
                seen += (page["data"] as? [[String: Any]] ?? []).compactMap { $0["run_id"] as? String }
                guard let next = page["next_cursor"] as? String else { break }
                uri = "/api/reconcile/runs?limit=1&cursor=\(next)"
            }
            #expect(seen == [id, second["run_id"] as! String, first["run_id"] as! String])

            try await f.api(client, .get, "/api/reconcile/runs/rec_00000000deadbeef", expect: .notFound)
            for bad in ["not json", "{\"dry_run\": \"yes\"}", "[1]"] {
                let response = try await client.execute(uri: "/api/reconcile/runs", method: .post, headers: ImportFixture.admin,
                                                        body: ByteBuffer(string: bad))
                #expect(response.status == .badRequest, "\(bad)")
                #expect(response.headers[.contentType] == "application/problem+json")
            }
            try await f.api(client, .get, "/api/reconcile/runs?cursor=nope", expect: .badRequest)
            try await f.api(client, .get, "/api/reconcile/runs", headers: [:], expect: .unauthorized)
        }
    }

    @Test(arguments: Engine.allCases) func scheduleIsRegisteredOnTheMaintenanceQueue(_ engine: Engine) async throws {
        let f = try await ImportFixture(engine)
        try await f.queue.register(BuiltinJobs.schedules)
        try await f.run { client in
            let list = try await f.api(client, .get, "/api/schedules", expect: .ok)
            let schedule = try #require((list["schedules"] as? [[String: Any]])?.first { $0["name"] as? String == "reconcile.run" })
            #expect(schedule["kind"] as? String == "reconcile.run" && schedule["queue"] as? String == "maintenance")
            #expect(schedule["interval_s"] as? Double == 900)

            // Run now: the scheduled job makes its own run and reconciles.
            try await f.api(client, .post, "/api/schedules/reconcile.run/run", expect: .created)
            #expect(await eventually(timeout: .seconds(30)) {
                let runs = try await f.api(client, .get, "/api/reconcile/runs")["data"] as? [[String: Any]] ?? []
                return runs.first?["trigger"] as? String == "schedule" && runs.first?["state"] as? String == "succeeded"
            })
        }
    }

    @Test(arguments: Engine.allCases) func aChannelHeldByARunningReconcileCannotBeDeleted(_ engine: Engine) async throws {
        let f = try await ImportFixture(engine)
        let id = try await f.channel("sk-rec-held-00001")
        // A run that has started (its pending results hold the channel) but whose job has not finished.
        let run = ReconcileRun(dryRun: true, trigger: .api, now: 1)
        try await f.db.write { db in try run.insert(db) }
        _ = try await f.deps.reconciles.begin(run.id, jobId: 1)
        try await f.run { client in
            let problem = try await f.api(client, .delete, "/api/channels/\(id)", expect: .conflict)
            #expect(problem["type"] as? String == "in_use" && (problem["detail"] as? String)?.contains(run.id) == true)
            try await f.deps.reconciles.finish(run.id, artifactPath: nil)
            try await f.api(client, .delete, "/api/channels/\(id)", expect: .noContent)
        }
    }

    @Test(arguments: Engine.allCases) func artifactValidatesWithBothValidatorsAndHoldsNoKey(_ engine: Engine) async throws {
        let f = try await ImportFixture(engine, probeTimeout: .seconds(6))
        _ = try await f.channel("sk-rec-artifact-1", models: ["gpt-4o-mini"])
        _ = try await f.channel("sk-rec-artifact-2", status: .disabled)
        _ = try await f.channel("sk-rec-artifact-3", baseURL: "http://127.0.0.1:9")
        try await f.run { client in
            let run = try await f.reconciled(client)
            let path = try #require(run["artifact_path"] as? String)
            #expect(path.hasPrefix(f.artifactsDir + "/reconcile.run/") && path.hasSuffix("_" + (run["run_id"] as! String)))
            let data = try Data(contentsOf: URL(fileURLWithPath: path + "/summary.json"))
            let schemaPath = PythonSchemaCheck.schemaPath("reconcile.run")
            #expect(try SchemaValidator.violations(json: data, schema: Data(contentsOf: URL(fileURLWithPath: schemaPath))) == [])
            #expect(try await PythonSchemaCheck.violations(data, schemaPath: schemaPath) == [])
            let summary = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            #expect((summary["counts"] as? [String: Int]).map { [$0["models_added"], $0["disabled"], $0["unreachable"]] } == [1, 1, 1])
            #expect((summary["channels"] as? [[String: Any]])?.count == 3)
            let text = String(decoding: data, as: UTF8.self)
            for n in 1...3 { #expect(!text.contains("sk-rec-artifact-\(n)")) }
            // A summary carrying a key field is rejected by the schema.
            var leaked = summary
            var channels = summary["channels"] as! [[String: Any]]
            channels[0]["api_key"] = "sk-rec-artifact-1"
            leaked["channels"] = channels
            let leakedData = try JSONSerialization.data(withJSONObject: leaked)
            #expect(try await PythonSchemaCheck.violations(leakedData, schemaPath: schemaPath) != [])
        }
    }
}
