import GatewayFixtures
import Foundation
import Gateway
import GRDB
import HTTPTypes
import HummingbirdTesting
import Jobs
import MockUpstream
import Store
import Testing
import TestSupport

/// Reconcile against the mock upstream: each drift kind is found, a dry run changes nothing, the real run applies
/// every fix (and the gateway serves it at once), and `unreachable` auto-disables only on the third run in a row.
@Suite struct ReconcileDriftTests {
    static let keys = (inSync: "sk-rec-in-sync-01", added: "sk-rec-added-0001", removed: "sk-rec-removed-001",
                       auth: "sk-rec-auth-00001", unreachable: "sk-rec-unreach-001", caps: "sk-rec-caps-00001",
                       revive: "sk-rec-revive-001", operator: "sk-rec-operator-01")

    static let script = MockScript(rules: [
        FaultRule(key: keys.removed, model: "gpt-4o", fault: Fault(missingModel: true)),
        // The smoke chat answers 401 quoting the key it got, as some upstreams do.
        FaultRule(key: keys.auth, model: "gpt-4o-mini", fault: Fault(status: 401, echoKey: true)),
        FaultRule(key: keys.caps, fault: Fault(responsesUnsupported: true)),
    ])

    @Test(arguments: Engine.allCases) func detectsEachDriftKindDryRunChangesNothingAndTheRealRunFixes(_ engine: Engine) async throws {
        let f = try await ImportFixture(engine, script: Self.script, probeTimeout: .seconds(6))
        let k = Self.keys
        let ids = (
            inSync: try await f.channel(k.inSync),
            added: try await f.channel(k.added, models: ["gpt-4o-mini"]),
            removed: try await f.channel(k.removed),
            auth: try await f.channel(k.auth),
            unreachable: try await f.channel(k.unreachable, baseURL: "http://127.0.0.1:9"),   // discard port: nothing listens
            caps: try await f.channel(k.caps),
            revive: try await f.channel(k.revive, status: .autoDisabled, mapping: ["revived-alias": "gpt-4o-mini"]),
            operator: try await f.channel(k.operator, status: .disabled))
        let expected: [Int64: String] = [
            ids.inSync: "in_sync", ids.added: "models_added", ids.removed: "models_removed", ids.auth: "auth_failed",
            ids.unreachable: "unreachable", ids.caps: "capability_changed", ids.revive: "re_enabled", ids.operator: "disabled",
        ]
        try await f.run { client in
            let user = try await f.api(client, .post, "/api/users", ["name": "alice", "quota": 1_000_000_000], expect: .created)
            let key = try await f.api(client, .post, "/api/keys", ["user_id": user["id"] as! Int64, "name": "k"], expect: .created)
            let clientKey: HTTPFields = [.authorization: "Bearer \(key["key"] as! String)"]
            let servedBefore = try await f.api(client, .get, "/v1/models", headers: clientKey, expect: .ok)
            #expect(!Self.modelIds(servedBefore).contains("revived-alias"))

            // A dry run reports every drift and leaves every row as it was.
            let rowsBefore = try await f.channelRows()
            let preview = try await f.reconciled(client, dryRun: true)
            #expect(preview["state"] as? String == "succeeded", "\(preview)")
            let previewResults = ImportFixture.results(preview)
            #expect(previewResults.mapValues { $0["drift"] as? String ?? "?" } == expected)
            #expect(previewResults.values.allSatisfy { $0["applied"] as? Bool == false })
            #expect(try await f.channelRows() == rowsBefore)

            // The real run applies the fixes.
            let run = try await f.reconciled(client)
            let results = ImportFixture.results(run)
            #expect(results.mapValues { $0["drift"] as? String ?? "?" } == expected)
            let appliedIds = Set(results.filter { $0.value["applied"] as? Bool == true }.keys)
            #expect(appliedIds == [ids.added, ids.removed, ids.auth, ids.caps, ids.revive])
            let counts = try #require(run["counts"] as? [String: Int])
            #expect(counts.values.allSatisfy { $0 == 1 } && counts.count == 8, "\(counts)")
            #expect((run["progress"] as? [String: Any])?["remaining"] as? Int == 0)

            let rows = try await f.channelRows()
            #expect(rows[ids.inSync] == rowsBefore[ids.inSync])
            #expect(Set(rows[ids.added]!.models) == Set(MockScript.defaultModels))
            #expect(rows[ids.removed]!.models == MockScript.defaultModels.filter { $0 != "gpt-4o" })
            #expect(rows[ids.auth]!.status == .autoDisabled && rows[ids.auth]!.statusReason?.contains("rejected the key") == true)
            #expect(rows[ids.unreachable] == rowsBefore[ids.unreachable], "one unreachable run is not enough to disable")
            #expect(rows[ids.caps]!.capabilities?.responses == false && rows[ids.caps]!.capabilities?.chat == true)
            #expect(rows[ids.revive]!.status == .enabled && rows[ids.revive]!.statusReason == nil)
            #expect(rows[ids.operator] == rowsBefore[ids.operator])
            let removed = try #require(results[ids.removed])
            #expect((removed["before"] as? [String: Any])?["models"] as? [String] == MockScript.defaultModels)
            #expect((removed["after"] as? [String: Any])?["models"] as? [String] == rows[ids.removed]!.models)

            // The gateway serves the re-enabled channel's alias as soon as the run reads as finished.
            let servedAfter = try await f.api(client, .get, "/v1/models", headers: clientKey, expect: .ok)
            #expect(Self.modelIds(servedAfter).contains("revived-alias"))

            // A second run finds the fixed channels in sync; the third unreachable run in a row auto-disables.
            let second = ImportFixture.results(try await f.reconciled(client))
            for id in [ids.added, ids.removed, ids.caps, ids.revive] { #expect(second[id]?["drift"] as? String == "in_sync") }
            #expect(second[ids.auth]?["drift"] as? String == "auth_failed" && second[ids.auth]?["applied"] as? Bool == false)
            #expect(try await f.channelRows()[ids.unreachable]?.status == .enabled)
            let third = ImportFixture.results(try await f.reconciled(client))
            #expect(third[ids.unreachable]?["applied"] as? Bool == true)
            #expect(try await f.channelRows()[ids.unreachable]?.status == .autoDisabled)
            #expect(try await f.channelRows()[ids.operator] == rowsBefore[ids.operator])

            // No key anywhere a reader sees: the API, the artifact (the 401 fault quotes the key it got).
            let allKeys = [k.inSync, k.added, k.removed, k.auth, k.unreachable, k.caps, k.revive, k.operator]
            let path = try #require(run["artifact_path"] as? String)
            let text = try String(contentsOfFile: path + "/summary.json", encoding: .utf8)
            let shown = String(decoding: try JSONSerialization.data(withJSONObject: run), as: UTF8.self)
            for plain in allKeys { #expect(!text.contains(plain) && !shown.contains(plain)) }
            #expect(text.contains(Fingerprint.of(k.auth)))
        }
    }

    static func modelIds(_ list: [String: Any]) -> [String] {
        (list["data"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
    }
}
