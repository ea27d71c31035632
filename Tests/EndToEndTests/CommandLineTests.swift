import Foundation
import Scheduler
import Testing

/// The `switchyard` verbs against the database file and against a running daemon over real HTTP.
@Suite(.serialized, .processDiagnostics) struct CommandLineTests {
    /// Runs the binary to completion; returns (status, stdout, stderr).
    func run(_ arguments: [String], env: [String: String] = [:], in dir: String) async throws -> (Int32, String, String) {
        let process = try DaemonProcess(arguments, environment: env, logDir: dir, name: "cli-\(UUID().uuidString.prefix(8))")
        let status = await process.waitForExit(timeout: .seconds(60))
        return (status ?? -1, process.stdout, process.stderr)
    }

    func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(text.utf8))
    }

    struct Enqueued: Decodable { let id: Int64; let duplicate: Bool }
    struct Job: Decodable { let id: Int64; let state: String; let kind: String; let attempt: Int }
    struct Page: Decodable { let jobs: [Job]; let next_cursor: String? }

    @Test func verbsWorkOnTheDatabaseFile() async throws {
        let tmp = try TempDir()
        try createDatabase(dataDir: tmp.path + "/data")
        let db = ["--data-dir", tmp.path + "/data"]
        var (status, out, err) = try await run(["jobs", "enqueue", "noop", "--args", #"{"a":1}"#, "--unique-key", "k", "--json"] + db, in: tmp.path)
        #expect(status == 0, "\(err)")
        let first = try decode(Enqueued.self, out)
        (status, out, _) = try await run(["jobs", "enqueue", "noop", "--unique-key", "k", "--json"] + db, in: tmp.path)
        #expect(status == 0)
        #expect(try decode(Enqueued.self, out).duplicate)

        (status, out, _) = try await run(["jobs", "list", "--json"] + db, in: tmp.path)
        #expect(try decode(Page.self, out).jobs.map(\.id) == [first.id])
        (status, out, _) = try await run(["jobs", "list"] + db, in: tmp.path)
        #expect(out.contains("available") && out.contains("noop"))

        (status, out, _) = try await run(["jobs", "cancel", "\(first.id)", "--json"] + db, in: tmp.path)
        #expect(try decode(Job.self, out).state == "cancelled")
        (status, out, _) = try await run(["jobs", "retry", "\(first.id)", "--json"] + db, in: tmp.path)
        #expect(try decode(Job.self, out).state == "available")
        (status, out, _) = try await run(["jobs", "show", "\(first.id)"] + db, in: tmp.path)
        #expect(out.contains("job \(first.id): noop") && out.contains("cancelled by operator"))

        (status, _, err) = try await run(["jobs", "show", "424242"] + db, in: tmp.path)
        #expect(status == 1 && err.contains("job 424242 not found"))
        (status, _, err) = try await run(["jobs", "enqueue", "noop", "--args", "{oops"] + db, in: tmp.path)
        #expect(status != 0 && err.contains("not valid JSON"))
    }

    @Test func verbsWorkAgainstARunningDaemonWithTheGeneratedToken() async throws {
        let tmp = try TempDir()
        let dataDir = tmp.path + "/data"
        let daemon = try DaemonProcess(["serve", "--data-dir", dataDir, "--port", "0"], logDir: tmp.path, name: "daemon")
        let port = try #require(await daemon.listeningPort(), "daemon did not start: \(daemon.stderr)")
        let server = "http://127.0.0.1:\(port)"
        let target = ["--server", server, "--data-dir", dataDir]
        #expect(await eventually(timeout: .seconds(30)) {
            try await run(["jobs", "list", "--json"] + target, in: tmp.path).0 == 0
        })
        // The token was generated into the data dir with mode 0600 and its path printed.
        let attributes = try FileManager.default.attributesOfItem(atPath: dataDir + "/admin-token")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(daemon.stdout.contains("admin-token"))

        var (status, out, err) = try await run(["jobs", "enqueue", "sleep", "--args", #"{"ms":1}"#, "--json"] + target, in: tmp.path)
        #expect(status == 0, "\(err)")
        let id = try decode(Enqueued.self, out).id
        #expect(await eventually(timeout: .seconds(30)) {
            let (_, out, _) = try await run(["jobs", "show", "\(id)", "--json"] + target, in: tmp.path)
            return try decode(Job.self, out).state == "completed"
        })
        (status, _, err) = try await run(["jobs", "cancel", "\(id)"] + target, in: tmp.path)
        #expect(status == 1 && err.contains("409") && err.contains("already completed"))
        (status, _, err) = try await run(["jobs", "list", "--server", server, "--token", "wrong", "--data-dir", dataDir], in: tmp.path)
        #expect(status == 1 && err.contains("401"))
        (status, out, _) = try await run(["schedules", "list"] + target, in: tmp.path)
        #expect(status == 0 && out.contains("yard.prune"))

        // The metrics of the worker that ran it.
        let (metricsStatus, metrics) = try await httpGet(server + "/metrics")
        #expect(metricsStatus == 200)
        #expect(metrics.contains(#"switchyard_jobs_finished_total{kind="sleep",outcome="completed"} 1"#))
        #expect(metrics.contains("switchyard_job_duration_seconds_bucket"))
        #expect(metrics.contains(#"switchyard_jobs_claimed_total{queue="default"}"#))
        daemon.signal(SIGTERM)
        #expect(await daemon.waitForExit(timeout: .seconds(20)) == 0)
    }
}
