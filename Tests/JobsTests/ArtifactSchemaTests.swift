import GatewayFixtures
import Foundation
import Jobs
import Testing

/// The schemas themselves: each is a valid draft 2020-12 schema (python checks that) and rejects what it must,
/// so a passing artifact test means something. One case at a time: each waits on a python process, blocking a thread
/// of Swift's cooperative pool (two on this machine), and many at once starved every other suite of the process.
@Suite(.serialized) struct ArtifactSchemaTests {
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
                "payload_bytes_deleted": 10, "traces_deleted": 1, "rollup_rows_deleted": 0, "rows_per_second": 2, "database_before": space,
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
                    "before": ["models": ["a"], "model_mapping": [:] as [String: String], "status": "enabled", "status_reason": NSNull(),
                               "capabilities": NSNull()],
                    "after": ["models": ["a", "b"], "model_mapping": ["b": "B"], "status": "enabled", "status_reason": NSNull(),
                              "capabilities": capabilities],
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
            "batch-import": [
                "schema_version": 1, "kind": "batch-import", "run_id": "run_0123456789abcdef", "state": "partially_succeeded",
                "created_at": "2025-01-02T03:04:05.006Z", "started_at": "2025-01-02T03:04:05.007Z", "finished_at": "2025-01-02T03:04:06.000Z",
                "options": ["concurrency": 8, "confirm_delay_s": 0, "retry_window_s": 600, "max_attempts": 6, "dry_run": false, "rate_per_s": 25],
                "counts": ["total": 2, "succeeded": 1, "failed": 1, "cancelled": 0, "by_outcome": ["created": 1, "failed": 1],
                           "by_failure_class": ["auth": 1]],
                "items": [importItem, failedImportItem],
            ],
            "batch-import-rollback": [
                "schema_version": 1, "kind": "batch-import-rollback", "run_id": "run_0123456789abcdef", "dry_run": false, "at": 5,
                "rolled_back": 1, "conflicts": 1,
                "entries": [
                    ["change_id": 1, "item_index": 0, "channel_id": 3, "action": "created", "result": "rolled_back", "detail": NSNull()],
                    ["change_id": 2, "item_index": 1, "channel_id": 4, "action": "patched", "result": "conflict", "detail": "changed since"],
                ],
            ],
        ]
    }

    /// A confirmed item: every step ran.
    static var importItem: [String: Any] {
        ["index": 0, "host": "api.example.com", "provider": "acme", "key_fingerprint": "ab12…cd34", "outcome": "created",
         "batch_status": "succeeded", "provider_status": "ok", "access_status": "confirmed", "direct_chat_status": 200,
         "upstream_chat_status": 200, "channel_id": 3, "models": ["gpt-4o-mini"], "smoke_model": "gpt-4o-mini",
         "capabilities": capabilities, "attempts": 1, "classification": "ok", "failure_class": "none", "detail": NSNull()]
    }

    /// An item that stopped at its probe: the steps after it never ran, and say so with null.
    static var failedImportItem: [String: Any] {
        ["index": 1, "host": "api.example.com", "provider": NSNull(), "key_fingerprint": "ef56…ab78", "outcome": "failed",
         "batch_status": "failed", "provider_status": "auth_failed", "access_status": "not_reached", "direct_chat_status": NSNull(),
         "upstream_chat_status": NSNull(), "channel_id": NSNull(), "models": [String](), "smoke_model": NSNull(),
         "capabilities": NSNull(), "attempts": 1, "classification": "auth_failed", "failure_class": "auth", "detail": "HTTP 401"]
    }

    static let kinds = ["usage.settle", "payloads.purge", "yard.prune", "reconcile.run", "nodes.probe", "batch-import", "batch-import-rollback"]

    static let drifts = ["disabled", "unreachable", "auth_failed", "re_enabled", "models_removed", "models_added", "capability_changed",
                         "in_sync"]
    static var capabilities: [String: Any] { ["chat": true, "streaming": true, "tools": false, "responses": false,
                                              "anthropic_messages": true, "model": "b"] }

    @Test(arguments: kinds)
    func schemaAcceptsAValidSummaryAndRejectsBrokenOnes(kind: String) async throws {
        let good = Self.valid[kind]!
        let found = try await ArtifactCheck.violations(of: try JSONSerialization.data(withJSONObject: good), kind: kind)
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
            let found = try await ArtifactCheck.violations(of: try JSONSerialization.data(withJSONObject: broken), kind: kind)
            #expect(!found.swift.isEmpty && !found.python.isEmpty)
        }
    }

    /// Each item names every status, whatever it did: one lacking any field the schema names fails validation,
    /// under both validators (`artifacts verify` runs the first).
    @Test(arguments: ["batch_status", "provider_status", "access_status", "direct_chat_status", "upstream_chat_status",
                      "channel_id", "capabilities", "detail"])
    func batchImportItemLackingAFieldIsRejected(field: String) async throws {
        var summary = Self.valid["batch-import"]!
        var item = Self.failedImportItem
        item[field] = nil
        summary["items"] = [Self.importItem, item]
        let found = try await ArtifactCheck.violations(of: try JSONSerialization.data(withJSONObject: summary), kind: "batch-import")
        #expect(found.swift.contains { $0.contains("missing required property \(field)") }, "\(found.swift)")
        #expect(!found.python.isEmpty)
    }

    /// No artifact leaves a key out: every object in every schema lists all its properties as required (null, or
    /// an explicit value such as `not_reached`, where something does not apply).
    @Test(arguments: kinds) func everyPropertyIsRequired(kind: String) throws {
        let schema = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: ArtifactCheck.schemaPath(kind))))
        var optional: [String] = []
        func walk(_ node: Any, _ path: String) {
            if let object = node as? [String: Any] {
                if let properties = object["properties"] as? [String: Any] {
                    let required = Set(object["required"] as? [String] ?? [])
                    optional += properties.keys.filter { !required.contains($0) }.sorted().map { "\(path).\($0)" }
                }
                for (key, child) in object { walk(child, "\(path)/\(key)") }
            } else if let array = node as? [Any] {
                for child in array { walk(child, path) }
            }
        }
        walk(schema, "$")
        #expect(optional.isEmpty, "\(optional)")
    }
}
