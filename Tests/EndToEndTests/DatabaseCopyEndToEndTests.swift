import Foundation
import Testing
import TestSupport

/// The operator's move from SQLite to PostgreSQL: a daemon on SQLite is used for real (keys, channels, relayed and
/// captured requests, an import, a reconcile run, settlement, a node, a paused schedule), stopped, and copied with
/// `switchyard db copy`; a daemon on PostgreSQL then gives the same `/api` answers, relays with the same client key
/// and reveals the same captured payload. A second copy copies nothing.
@Suite(.processDiagnostics) struct DatabaseCopyEndToEndTests {
    static let payloadKey = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()

    /// The `/api` answers an operator reads, with what legitimately differs between two daemons taken out.
    static func answers(_ g: GatewayProcess, base: String, runId: String) async throws -> [String: String] {
        var answers: [String: String] = [:]
        for path in ["/api/users", "/api/keys", "/api/channels?limit=500", "/api/models", "/api/nodes", "/api/traces?limit=500",
                     "/api/usage", "/api/batch-import/runs", "/api/batch-import/runs/\(runId)/items?limit=500",
                     "/api/reconcile/runs", "/api/users/1"] {
            let reply = try await g.request(.GET, base + path, headers: [("authorization", "Bearer \(g.adminToken)")])
            try #require(reply.status == 200, "\(path): \(reply.body)")
            let json = try JSONSerialization.jsonObject(with: Data(reply.body.utf8))
            answers[path] = String(decoding: try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]), as: UTF8.self)
        }
        let schedules = try await g.request(.GET, base + "/api/schedules", headers: [("authorization", "Bearer \(g.adminToken)")])
        let paused = (schedules.json["data"] as? [[String: Any]] ?? []).filter { $0["enabled"] as? Bool == false }
        answers["paused schedules"] = paused.compactMap { $0["name"] as? String }.sorted().joined(separator: ",")
        return answers
    }

    @Test func aSQLiteDaemonsDatabaseCopiedToPostgreSQLAnswersTheSame() async throws {
        let shared = ["--artifacts-dir", "{tmp}/artifacts", "--allow-private-upstreams", "--capture-payloads"]
        let env = ["SWITCHYARD_PAYLOAD_KEY": Self.payloadKey]
        let g = try await GatewayProcess(.sqlite, extraArgs: shared, env: env)
        try await g.provision()

        // Use it: relayed and captured requests, a node, an import, a reconcile run, settlement, a paused schedule.
        for stream in [false, true, false] {
            let reply = try await g.chat(stream: stream)
            try #require(reply.status == 200, "\(reply.body)")
        }
        let node = try await g.admin(.POST, "/api/nodes", ["name": "edge-1", "host": "localhost", "expected_ip": "127.0.0.1",
                                                           "relay_url": "http://localhost:\(g.mockPort)", "relay_key": "rk-node-secret-1"])
        try #require(node.status == 201, "\(node.body)")
        let runId = try await g.startImport([
            ["base_url": g.mockBase, "api_key": "sk-copy-import-1", "smoke_model": "gpt-4o-mini"],
            ["base_url": g.mockBase, "api_key": "sk-copy-import-2", "smoke_model": "gpt-4o-mini"],
        ], options: ["confirm_delay_s": 0])
        #expect(await eventually(timeout: .seconds(60)) { try await g.admin(.GET, "/api/batch-import/runs/\(runId)").json["artifact_path"] is String })
        let reconcile = try await g.admin(.POST, "/api/reconcile/runs", ["dry_run": true])
        let reconcileId = try #require(reconcile.json["run_id"] as? String, "\(reconcile.body)")
        #expect(await eventually(timeout: .seconds(60)) {
            ["succeeded", "failed"].contains(try await g.admin(.GET, "/api/reconcile/runs/\(reconcileId)").json["state"] as? String)
        })
        let settle = try await g.admin(.POST, "/api/schedules/usage.settle/run")
        let settleJob = try #require(settle.json["id"] as? Int, "\(settle.body)")
        #expect(await eventually(timeout: .seconds(60)) { try await g.admin(.GET, "/api/jobs/\(settleJob)").json["state"] as? String == "completed" })
        let paused = try await g.admin(.PATCH, "/api/schedules/yard.prune", ["enabled": false])
        #expect(paused.status == 200, "\(paused.body)")
        let traces = try await g.admin(.GET, "/api/traces").json["data"] as? [[String: Any]] ?? []
        let captured = try #require(traces.first { $0["has_payload"] as? Bool == true }?["id"] as? Int, "\(traces)")
        let revealed = try await g.admin(.POST, "/api/traces/\(captured)/payload", ["reason": "copy check"])
        try #require(revealed.status == 200, "\(revealed.body)")

        let before = try await Self.answers(g, base: g.base, runId: runId)
        g.daemon.signal(SIGTERM)
        #expect(await g.daemon.waitForExit(timeout: .seconds(30)) == 0)

        // Copy: refused without the secret key, then copied with it; the URL's password is never printed.
        let target = try await TestStore(.postgres)
        let url = try #require(target.databaseURL)
        let password = URLComponents(string: url)?.password
        func copy(_ extra: [String], name: String) async throws -> (cli: DaemonProcess, code: Int32?) {
            let cli = try DaemonProcess(["db", "copy", "--from", g.dataDir, "--to", url, "--json", "--batch-rows", "2"] + extra,
                                        environment: env, logDir: g.tmp.path, name: name)
            let code = await cli.waitForExit(timeout: .seconds(120))
            if let password, !password.isEmpty { #expect(!(cli.stdout + cli.stderr).contains(password)) }
            return (cli, code)
        }
        let (keyless, refused) = try await copy([], name: "copy-keyless")
        #expect(refused == 1 && keyless.stderr.contains("give the secret key"), "\(keyless.stderr)")
        let keyArgs = ["--secret-key-file", g.dataDir + "/secret-key"]
        let (first, firstCode) = try await copy(keyArgs, name: "copy-1")
        try #require(firstCode == 0, "\(first.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: Any])
        let tables = report["tables"] as? [[String: Any]] ?? []
        #expect(report["mismatched"] as? [String] == [])
        for table in ["users", "api_keys", "channels", "nodes", "traces", "payloads", "payload_audit", "usage_logs", "ledger",
                      "import_runs", "import_items", "import_events", "import_changes", "reconcile_runs", "reconcile_results"] {
            let count = tables.first { $0["table"] as? String == table }
            #expect((count?["copied"] as? Int ?? 0) > 0 && count?["copied"] as? Int == count?["source"] as? Int, "\(table): \(String(describing: count))")
        }
        #expect(first.stderr.contains("rows"), "a progress bar: \(first.stderr)")
        let (second, secondCode) = try await copy(keyArgs, name: "copy-2")
        try #require(secondCode == 0, "\(second.stderr)")
        let again = try #require(try JSONSerialization.jsonObject(with: Data(second.stdout.utf8)) as? [String: Any])
        #expect((again["tables"] as? [[String: Any]] ?? []).allSatisfy { $0["copied"] as? Int == 0 }, "\(second.stdout)")

        // A daemon on PostgreSQL with the same key: the same answers, the same client key relays, the payload opens.
        let pgData = g.tmp.path + "/pg-data"
        try FileManager.default.createDirectory(atPath: pgData, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: g.dataDir + "/secret-key", toPath: pgData + "/secret-key")
        let onPostgres = try GatewayProcess.startDaemon(tmp: g.tmp, dataDir: pgData, token: g.adminToken,
                                                        extraArgs: ["--database-url", url] + shared, env: env, name: "on-postgres")
        let port = try #require(await onPostgres.listeningPort(), "\(onPostgres.stderr.suffix(2000))")
        let base = "http://127.0.0.1:\(port)"
        let after = try await Self.answers(g, base: base, runId: runId)
        for (path, answer) in before.sorted(by: { $0.key < $1.key }) {
            #expect(after[path] == answer, "\(path) differs after the copy")
        }
        let relayed = try await g.request(.POST, base + "/v1/chat/completions",
                                          json: ["model": "gpt-4o-mini", "messages": [["role": "user", "content": "hi"]]],
                                          headers: [("authorization", "Bearer \(g.clientKey)")])
        #expect(relayed.status == 200, "\(relayed.body)")
        let reopened = try await g.request(.POST, base + "/api/traces/\(captured)/payload", json: ["reason": "after the copy"],
                                           headers: [("authorization", "Bearer \(g.adminToken)")])
        #expect(reopened.status == 200 && reopened.body == revealed.body, "\(reopened.body)")
        onPostgres.signal(SIGTERM)
        #expect(await onPostgres.waitForExit(timeout: .seconds(30)) == 0)
    }
}
