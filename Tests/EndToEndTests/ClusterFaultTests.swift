import Foundation
import Store
import Testing
import TestSupport

/// Processes of one cluster failing under work: a worker killed with -9 mid-import leaves only the jobs it held to
/// run again, on the other worker; a gateway stopped with SIGTERM under load answers every request it accepted and
/// loses no usage while the other gateway goes on serving.
@Suite(.processDiagnostics) struct ClusterFaultTests {
    @Test(arguments: Engine.allCases) func aWorkerKilledMidImportLeavesOnlyTheJobsItHeldToRunAgain(_ engine: Engine) async throws {
        let shared = ["--artifacts-dir", "{tmp}/artifacts", "--allow-private-upstreams"]
        let a = try await GatewayProcess(engine, extraArgs: ["--role", "gateway"] + shared)
        let workers = try await a.startWorkers(["worker-1", "worker-2"], args: shared + [
            "--queue", "import=4", "--lease-ttl", "2", "--tick-ms", "300", "--gateway-url", a.base,
        ])
        // Slow answers, so the kill lands while both workers hold items.
        try await a.setFaults([["fault": ["delay_ms": 80]]])
        let total = 60
        let items = (0..<total).map { ["base_url": a.mockBase, "api_key": "sk-worker-kill-\(1000 + $0)", "smoke_model": "gpt-4o-mini"] }
        let runId = try await a.startImport(items, options: ["concurrency": 8, "confirm_delay_s": 1, "retry_window_s": 60])

        let victim = workers[0].process.processIdentifier
        let heldByVictim = "%:\(victim):%"
        func held() async throws -> Set<Int64> {
            try await a.database.db.read { db in
                Set(try Int64.fetchAll(db, sql: "SELECT id FROM jobs WHERE state = 'running' AND lease_owner LIKE ?", arguments: [heldByVictim]))
            }
        }
        #expect(await eventually(timeout: .seconds(60)) { try await held().count >= 2 }, "the victim never held two jobs at once")
        workers[0].signal(SIGKILL)
        _ = await workers[0].waitForExit(timeout: .seconds(10))
        let orphaned = try await held()
        let doneAtKill = (try await a.admin(.GET, "/api/batch-import/runs/\(runId)").json["progress"] as? [String: Any])?["done"] as? Int ?? 0
        #expect(!orphaned.isEmpty && doneAtKill < total, "the kill landed mid-run: \(orphaned.count) jobs held, \(doneAtKill) of \(total) done")

        var run: [String: Any] = [:]
        #expect(await eventually(timeout: .seconds(120)) {
            run = try await a.admin(.GET, "/api/batch-import/runs/\(runId)").json
            return run["artifact_path"] is String
        }, "the run did not finish on the surviving worker: \(run)")
        #expect(run["state"] as? String == "succeeded", "\(run)")
        let listed = try await a.admin(.GET, "/api/batch-import/runs/\(runId)/items?limit=500").json["data"] as? [[String: Any]] ?? []
        #expect(listed.count == total && listed.allSatisfy { $0["outcome"] as? String == "created" }, "one outcome per item")
        let channels = try await a.admin(.GET, "/api/channels?limit=500").json["data"] as? [[String: Any]] ?? []
        #expect(channels.count == total, "one channel per item: none provisioned twice across the kill")
        // The jobs that ran more than once are exactly those the killed worker held, each rescued once.
        let again = try await a.database.db.read { db in
            Set(try Int64.fetchAll(db, sql: "SELECT id FROM jobs WHERE queue = 'import' AND attempt > 1"))
        }
        let extra = try await a.database.db.read { db in
            try SQLRow.fetchAll(db, sql: "SELECT id, kind, state, attempt, errors FROM jobs WHERE queue = 'import' AND attempt > 1")
                .map { "\($0.values)" }
        }
        #expect(again == orphaned, "ran again: \(again.sorted()), held by the killed worker: \(orphaned.sorted()); \(extra)")
        for process in [a.daemon, workers[1]] { process.signal(SIGTERM) }
        for process in [a.daemon, workers[1]] { #expect(await process.waitForExit(timeout: .seconds(30)) == 0) }
    }

    @Test(arguments: Engine.allCases) func aGatewayStoppedUnderLoadAnswersWhatItAcceptedAndLosesNoUsage(_ engine: Engine) async throws {
        let a = try await GatewayProcess(engine, extraArgs: ["--role", "gateway"])
        try await a.provision()
        let (second, b) = try await a.startSibling(["--role", "gateway"], name: "gateway-b")
        #expect(await eventually(timeout: .seconds(30)) { try await a.request(.GET, b + "/health").status == 200 })

        // Load through both gateways; B is stopped with SIGTERM in the middle, A serves on.
        let answered = Locked<[String]>([])
        let billable = Locked<[String]>([])
        let refused = Locked(0)
        let broken = Locked<[String]>([])
        let stop = Locked(false)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in 0..<8 {
                group.addTask {
                    var turn = client
                    while !stop.value {
                        turn += 1
                        let stream = turn % 3 == 0
                        var body: [String: Any] = ["model": "gpt-4o-mini", "messages": [["role": "user", "content": "hi"]]]
                        if stream { body["stream"] = true }
                        do {
                            let reply = try await a.request(.POST, (turn % 2 == 0 ? a.base : b) + "/v1/chat/completions", json: body,
                                                            headers: [("authorization", "Bearer \(a.clientKey)")])
                            let whole = reply.status != 200 || (stream ? reply.body.contains("[DONE]") : reply.body.contains("mock upstream"))
                            if let id = reply.headers.first(name: "x-request-id"), whole {
                                answered.update { $0.append(id) }
                                if reply.status == 200 { billable.update { $0.append(id) } }
                            } else {
                                broken.update { $0.append("\(reply.status) \(reply.body.prefix(200))") }
                            }
                        } catch {
                            // A connection B closed before reading a request: its port closed, a connection still in the
                            // kernel's backlog reset, or an idle kept-alive one closed as the request went out (HTTP/1.1's
                            // own race, nginx's too). Whether B had taken such a request in is checked on B's side below:
                            // every request a gateway handled leaves a trace.
                            let text = "\(error)"
                            let notTaken = ["refused", "NIOConnectionError", "reset by peer", "closed channel", "remoteConnectionClosed"]
                            if notTaken.contains(where: text.contains) { refused.update { $0 += 1 } } else { broken.update { $0.append(text) } }
                        }
                    }
                }
            }
            try await Task.sleep(for: .seconds(1.5))
            second.signal(SIGTERM)
            try await Task.sleep(for: .seconds(1.5))
            stop.update { $0 = true }
            try await group.waitForAll()
        }
        #expect(await second.waitForExit(timeout: .seconds(30)) == 0, "\(second.stderr.suffix(2000))")
        a.daemon.signal(SIGTERM)
        #expect(await a.daemon.waitForExit(timeout: .seconds(30)) == 0)

        let ids = Set(answered.value)
        #expect(ids.count > 50 && refused.value > 0, "load ran through the stop: \(ids.count) answered, \(refused.value) refused")
        #expect(broken.value.isEmpty, "answers cut short or malformed: \(broken.value.prefix(5))")
        let (traced, billed) = try await a.database.db.read { db in
            (Set(try String.fetchAll(db, sql: "SELECT request_id FROM traces")), Set(try String.fetchAll(db, sql: "SELECT request_id FROM usage_logs")))
        }
        // Every request a gateway took in was answered to its client, and every answer with usage was billed.
        #expect(traced.subtracting(ids).isEmpty, "handled but never answered: \(traced.subtracting(ids).prefix(5))")
        #expect(billed == Set(billable.value), "billed \(billed.count), answered 200 \(billable.value.count)")
    }
}
