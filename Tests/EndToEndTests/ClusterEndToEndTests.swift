import Foundation
import Testing
import TestSupport

/// Processes sharing one database list each other (`GET /api/cluster`, `switchyard cluster`): a clean stop leaves the
/// list at once, a killed process drops out after three missed heartbeats, and `/metrics` names the process answering.
@Suite(.processDiagnostics) struct ClusterEndToEndTests {
    /// Heartbeats every 2 s, so dead after 6 s: a process gone within 3 s was removed by its own clean stop.
    static let heartbeat = ["--cluster-heartbeat", "2"]

    func members(_ g: GatewayProcess) async throws -> (ids: [String], roles: [String], body: [String: Any]) {
        let reply = try await g.admin(.GET, "/api/cluster")
        try #require(reply.status == 200, "\(reply.body)")
        let data = try #require(reply.json["data"] as? [[String: Any]], "\(reply.body)")
        return (data.compactMap { $0["id"] as? String }, data.compactMap { $0["role"] as? String }.sorted(), reply.json)
    }

    @Test(arguments: Engine.allCases) func processesListEachOtherAndLeaveOnStopOrDeath(_ engine: Engine) async throws {
        let g = try await GatewayProcess(engine, extraArgs: Self.heartbeat)
        let (second, _) = try await g.startSibling(Self.heartbeat, name: "second")
        let worker = try await g.startWorkers(["worker"], args: Self.heartbeat)[0]
        #expect(await eventually(timeout: .seconds(30)) { try await members(g).ids.count == 3 }, "\(worker.stderr.suffix(2000))")
        let listed = try await members(g)
        #expect(listed.roles == ["all", "all", "worker"])
        let answeredBy = try #require(listed.body["answered_by"] as? String)
        #expect(listed.body["dead_after_ms"] as? Int == 6000)
        let this = (listed.body["data"] as? [[String: Any]])?.filter { $0["this"] as? Bool == true }.compactMap { $0["id"] as? String }
        #expect(this == [answeredBy])
        #expect(answeredBy.contains("-\(g.daemon.process.processIdentifier)-"), "ids name the pid: \(answeredBy)")
        let metrics = try await g.request(.GET, g.base + "/metrics")
        #expect(metrics.body.contains("switchyard_process_info{process_id=\"\(answeredBy)\""), "\(metrics.body.prefix(3000))")

        // The command line reads the same list from the database.
        let cli = try DaemonProcess(["cluster", "--json"] + g.database.args, logDir: g.tmp.path, name: "cli")
        #expect(await cli.waitForExit(timeout: .seconds(60)) == 0, "\(cli.stderr)")
        let fromCLI = try JSONSerialization.jsonObject(with: Data(cli.stdout.utf8)) as? [[String: Any]]
        #expect(Set(fromCLI?.compactMap { $0["id"] as? String } ?? []) == Set(listed.ids))

        // A clean stop: gone at once, well inside the 6 s a dead process takes.
        second.signal(SIGTERM)
        #expect(await second.waitForExit(timeout: .seconds(30)) == 0)
        let stopped = ContinuousClock.now
        #expect(await eventually(timeout: .seconds(10)) { try await members(g).ids.count == 2 })
        #expect(ContinuousClock.now - stopped < .seconds(3), "a cleanly stopped process leaves the list when it stops")

        // Killed: listed until its heartbeats are missed, then dropped.
        worker.signal(SIGKILL)
        _ = await worker.waitForExit(timeout: .seconds(10))
        let killed = ContinuousClock.now
        #expect(try await members(g).ids.count == 2, "a killed process stays listed until its heartbeats are missed")
        #expect(await eventually(timeout: .seconds(20)) { try await members(g).ids == [answeredBy] })
        let gone = ContinuousClock.now - killed
        #expect(gone > .seconds(2) && gone < .seconds(10), "dropped after three missed 2 s heartbeats, took \(gone)")
    }
}
