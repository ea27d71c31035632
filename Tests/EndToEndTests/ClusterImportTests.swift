import Foundation
import Store
import Testing
import TestSupport

/// Two gateway processes and two worker processes on one database: relay traffic through both gateways while a
/// 200-item import runs on the workers (confirming through a gateway). Every item is processed once, the run writes
/// one artifact, and every relayed answer is billed once.
@Suite(.processDiagnostics) struct ClusterImportTests {
    @Test(arguments: Engine.allCases) func twoGatewaysAndTwoWorkersShareOneImportAndTheBooks(_ engine: Engine) async throws {
        let shared = ["--artifacts-dir", "{tmp}/artifacts", "--allow-private-upstreams"]
        let a = try await GatewayProcess(engine, extraArgs: ["--role", "gateway"] + shared)
        try await a.provision()
        let (second, b) = try await a.startSibling(shared + ["--role", "gateway"], name: "gateway-b")
        let workers = try await a.startWorkers(["worker-1", "worker-2"], args: shared + ["--queue", "import=8", "--gateway-url", a.base])
        #expect(await eventually(timeout: .seconds(30)) {
            try await a.request(.GET, b + "/health").status == 200
        })

        // Relay load through both gateways, alternating, until the import is done.
        let done = Locked(false)
        let answered = Locked(0)
        let load = Task {
            var turn = 0
            while !done.value {
                let reply = try? await a.request(.POST, (turn % 2 == 0 ? a.base : b) + "/v1/chat/completions",
                                                 json: ["model": "gpt-4o-mini", "messages": [["role": "user", "content": "hi"]]],
                                                 headers: [("authorization", "Bearer \(a.clientKey)")])
                if reply?.status == 200 { answered.update { $0 += 1 } }
                turn += 1
            }
        }

        let total = 200
        let items = (0..<total).map { ["base_url": a.mockBase, "api_key": "sk-cluster-\(10_000 + $0)", "smoke_model": "gpt-4o-mini"] }
        let runId = try await a.startImport(items, options: ["concurrency": 16, "confirm_delay_s": 1, "retry_window_s": 60])
        var run: [String: Any] = [:]
        #expect(await eventually(timeout: .seconds(180)) {
            run = try await a.request(.GET, b + "/api/batch-import/runs/\(runId)", headers: [("authorization", "Bearer \(a.adminToken)")]).json
            return run["artifact_path"] is String
        }, "the run did not finish: \(run)")
        done.update { $0 = true }
        _ = await load.value

        #expect(run["state"] as? String == "succeeded", "\(run)")
        let listed = try await a.admin(.GET, "/api/batch-import/runs/\(runId)/items?limit=500").json["data"] as? [[String: Any]] ?? []
        #expect(listed.count == total && listed.allSatisfy { $0["outcome"] as? String == "created" }, "one outcome per item")
        let channels = try await a.admin(.GET, "/api/channels?limit=500").json["data"] as? [[String: Any]] ?? []
        #expect(channels.count == total + 2, "one channel per item besides the two provisioned")
        let folders = try FileManager.default.contentsOfDirectory(atPath: a.tmp.path + "/artifacts/batch-import").filter { $0.hasSuffix(runId) }
        #expect(folders.count == 1, "\(folders)")
        // Both workers took part, and each item's jobs ran on one of them.
        let jobOwners = try await a.database.db.read { db in
            try Int.fetchOne(db, sql: "SELECT count(DISTINCT lease_owner) FROM jobs WHERE queue = 'import' AND lease_owner IS NOT NULL") ?? 0
        }
        #expect(jobOwners >= 2, "the import's jobs ran on both workers")

        // Every answered request billed once, whichever gateway served it (the gateways flush on SIGTERM).
        for process in [a.daemon, second] + workers { process.signal(SIGTERM) }
        for process in [a.daemon, second] + workers { #expect(await process.waitForExit(timeout: .seconds(30)) == 0) }
        let served = answered.value
        let billed = try await a.database.db.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM usage_logs") ?? 0  // the client key is the only one billed
        }
        #expect(served > 50, "relay load ran through the import (\(served) answered)")
        #expect(billed == served, "every answered request billed once: \(billed) usage logs for \(served) answers")
    }
}
