import Foundation
import Testing

/// `switchyard schedules run|set` on the database file and against a running daemon.
@Suite(.serialized, .processDiagnostics) struct ScheduleCommandTests {
    struct Enqueued: Decodable { let id: Int64; let duplicate: Bool }
    struct Job: Decodable { let id: Int64; let state: String; let kind: String; let queue: String }
    struct ScheduleView: Decodable { let name: String; let interval_s: Double; let enabled: Bool }

    @Test func runAndSetOnTheDatabaseFile() async throws {
        let cli = CommandLineTests()
        let tmp = try TempDir()
        try createDatabase(dataDir: tmp.path + "/data")
        let db = ["--data-dir", tmp.path + "/data"]
        var (status, out, err) = try await cli.run(["schedules", "set", "usage.settle", "--interval", "120", "--enabled", "false", "--json"] + db, in: tmp.path)
        #expect(status == 0, "\(err)")
        let view = try cli.decode(ScheduleView.self, out)
        #expect(view.name == "usage.settle" && view.interval_s == 120 && !view.enabled)

        (status, out, err) = try await cli.run(["schedules", "run", "usage.settle", "--json"] + db, in: tmp.path)
        #expect(status == 0, "\(err)")
        let enqueued = try cli.decode(Enqueued.self, out)
        (status, out, _) = try await cli.run(["jobs", "show", "\(enqueued.id)", "--json"] + db, in: tmp.path)
        let job = try cli.decode(Job.self, out)
        #expect(job.kind == "usage.settle" && job.queue == "maintenance" && job.state == "available")

        (status, out, _) = try await cli.run(["schedules", "list"] + db, in: tmp.path)
        #expect(out.contains("usage.settle") && out.contains("every 120s disabled") && out.contains("payloads.purge"))
        (status, _, err) = try await cli.run(["schedules", "run", "nope"] + db, in: tmp.path)
        #expect(status == 1 && err.contains("schedule nope not found"))
        (status, _, err) = try await cli.run(["schedules", "set", "usage.settle"] + db, in: tmp.path)
        #expect(status != 0 && err.contains("--interval, --enabled or both"))
    }

    @Test func runAndSetAgainstARunningDaemon() async throws {
        let cli = CommandLineTests()
        let tmp = try TempDir()
        let dataDir = tmp.path + "/data", artifacts = tmp.path + "/artifacts"
        let daemon = try DaemonProcess(["serve", "--data-dir", dataDir, "--artifacts-dir", artifacts, "--port", "0"],
                                       logDir: tmp.path, name: "daemon")
        let port = try #require(await daemon.listeningPort(), "daemon did not start: \(daemon.stderr)")
        let target = ["--server", "http://127.0.0.1:\(port)", "--data-dir", dataDir]

        var (status, out, err) = try await cli.run(["schedules", "set", "yard.prune", "--interval", "7200"] + target, in: tmp.path)
        #expect(status == 0 && out.contains("yard.prune: every 7200s, enabled"), "\(out) \(err)")
        (status, out, err) = try await cli.run(["schedules", "run", "payloads.purge", "--json"] + target, in: tmp.path)
        #expect(status == 0, "\(err)")
        let id = try cli.decode(Enqueued.self, out).id
        #expect(await eventually(timeout: .seconds(30)) {
            let (_, out, _) = try await cli.run(["jobs", "show", "\(id)", "--json"] + target, in: tmp.path)
            return try cli.decode(Job.self, out).state == "completed"
        })
        // The job wrote its artifact under --artifacts-dir, named after the job.
        let folders = try FileManager.default.contentsOfDirectory(atPath: artifacts + "/payloads.purge")
        #expect(folders.contains { $0.hasSuffix("_\(id)") })
        (status, _, err) = try await cli.run(["schedules", "run", "nope"] + target, in: tmp.path)
        #expect(status == 1 && err.contains("404"))
        daemon.signal(SIGTERM)
        #expect(await daemon.waitForExit(timeout: .seconds(20)) == 0)
    }
}
