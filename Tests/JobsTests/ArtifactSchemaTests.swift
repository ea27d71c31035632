import Foundation
import Jobs
import Testing

/// The schemas themselves: each is a valid draft 2020-12 schema (python checks that) and rejects what it must,
/// so a passing artifact test means something.
@Suite struct ArtifactSchemaTests {
    static var valid: [String: [String: Any]] {
        let space: [String: Any] = ["file_bytes": 4096, "wal_bytes": 0, "total_bytes": 4096, "free_pages": 0, "page_size": 4096]
        let reclaim: [String: Any] = ["pages_released": 0, "checkpoint_busy": false, "wal_frames_checkpointed": 0]
        let common: [String: Any] = ["schema_version": 1, "job_id": 1, "started_at": 1, "finished_at": 2]
        return [
            "usage.settle": common.merging([
                "kind": "usage.settle", "batch_size": 5000, "batches": 1, "logs_settled": 2, "amount_settled": 3, "cost_settled": 2,
                "users_debited": 1, "users_exhausted": [1], "checkpoint_before": 0, "checkpoint_after": 2, "total_settled_logs": 2,
                "total_settled_amount": 3, "logs_per_second": 100.5,
            ]) { $1 },
            "payloads.purge": common.merging([
                "kind": "payloads.purge", "cutoff": 5, "batch_size": 1000, "batches": 1, "payloads_deleted": 1,
                "payload_bytes_deleted": 10, "traces_deleted": 1, "rows_per_second": 2, "database_before": space,
                "database_after": space, "reclaim": reclaim,
            ]) { $1 },
            "yard.prune": common.merging([
                "kind": "yard.prune", "retention_s": 60, "cutoff": 5, "jobs_deleted": 0, "run_events_deleted": 0, "database_before": space,
                "database_after": space, "reclaim": reclaim,
            ]) { $1 },
            "reconcile.run": common.merging([
                "kind": "reconcile.run", "run_id": "rec_0123456789abcdef", "dry_run": false, "trigger": "api", "created_at": 1,
                "counts": Dictionary(uniqueKeysWithValues: drifts.map { ($0, 0) }).merging(["models_added": 1]) { $1 },
                "precedence": drifts,
                "channels": [[
                    "id": 1, "name": "c", "provider": NSNull(), "key_fingerprint": "ab12…cd34", "drift": "models_added", "applied": true,
                    "before": ["models": ["a"], "model_mapping": [:] as [String: String], "status": "enabled"],
                    "after": ["models": ["a", "b"], "model_mapping": ["b": "B"], "status": "enabled", "capabilities": capabilities],
                    "detail": "added: b",
                ]],
            ]) { $1 },
            "nodes.probe": common.merging([
                "kind": "nodes.probe", "unhealthy_after": 3,
                "nodes": [[
                    "id": 1, "name": "edge", "host": "relay.example.com", "expected_ip": "203.0.113.7",
                    "relay_key_fingerprint": "ab12…cd34", "dns_addresses": ["203.0.113.7"], "dns_matched": true, "health_status": 200,
                    "health_failures": 0, "status_before": "pending", "status_after": "healthy", "use_hostname_before": false,
                    "use_hostname_after": true, "traffic_url": "https://relay.example.com", "changed": true,
                ]],
                "channels": [["id": 2, "name": "c", "key_fingerprint": "ab12…cd34", "result": "re_enabled", "status": 200, "classification": "ok"]],
            ]) { $1 },
        ]
    }

    static let drifts = ["disabled", "unreachable", "auth_failed", "re_enabled", "models_removed", "models_added", "capability_changed",
                         "in_sync"]
    static var capabilities: [String: Any] { ["chat": true, "streaming": true, "tools": false, "responses": false,
                                              "anthropic_messages": true, "model": "b"] }

    @Test(arguments: ["usage.settle", "payloads.purge", "yard.prune", "reconcile.run", "nodes.probe"])
    func schemaAcceptsAValidSummaryAndRejectsBrokenOnes(kind: String) throws {
        let good = Self.valid[kind]!
        let found = try ArtifactCheck.violations(of: try JSONSerialization.data(withJSONObject: good), kind: kind)
        #expect(found.swift.isEmpty && found.python.isEmpty, "\(found)")

        var missing = good
        missing["schema_version"] = nil
        var wrongType = good
        wrongType["job_id"] = "one"
        var extra = good
        extra["api_key"] = "sk-should-never-be-here"
        var wrongVersion = good
        wrongVersion["schema_version"] = 2
        for broken in [missing, wrongType, extra, wrongVersion] {
            let found = try ArtifactCheck.violations(of: try JSONSerialization.data(withJSONObject: broken), kind: kind)
            #expect(!found.swift.isEmpty && !found.python.isEmpty)
        }
    }
}
