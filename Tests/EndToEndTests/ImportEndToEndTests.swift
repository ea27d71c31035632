import Foundation
import Testing
import TestSupport

/// Batch imports with real processes: a daemon killed with -9 mid-run finishes the run after a restart (one
/// outcome per item, one artifact), the artifact passes an independent JSON Schema validator, and the CLI
/// posts a list, follows it and verifies the artifact.
@Suite(.serialized, .processDiagnostics) struct ImportEndToEndTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test(arguments: Engine.allCases) func killNineMidRunFinishesEveryItemOnceAndWritesOneArtifact(_ engine: Engine) async throws {
        let g = try await GatewayProcess(engine, extraArgs: ["--allow-private-upstreams", "--queue", "import=4", "--lease-ttl", "2",
                                                     "--tick-ms", "300", "--artifacts-dir", "{tmp}/artifacts"])
        // Slow answers so the kill lands while items are probing and confirming.
        try await g.setFaults([["fault": ["delay_ms": 60]]])
        let total = 40
        let items = (0..<total).map { ["base_url": g.mockBase, "api_key": "sk-crash-\(1000 + $0)", "smoke_model": "gpt-4o-mini"] }
        let runId = try await g.startImport(items, options: ["concurrency": 4, "confirm_delay_s": 1, "retry_window_s": 60])
        var doneAtKill = 0
        #expect(await eventually(timeout: .seconds(60)) {
            doneAtKill = ((try await g.admin(.GET, "/api/batch-import/runs/\(runId)")).json["progress"] as? [String: Any])?["done"] as? Int ?? 0
            return doneAtKill >= 6
        })
        g.daemon.signal(SIGKILL)
        #expect(doneAtKill < total, "the kill should land mid-run (\(doneAtKill) of \(total) done)")
        _ = await g.daemon.waitForExit(timeout: .seconds(10))
        #expect((try? await g.admin(.GET, "/health")) == nil, "the daemon is gone")

        try await g.restart(name: "daemon-2")
        var run: [String: Any] = [:]
        #expect(await eventually(timeout: .seconds(120)) {
            run = try await g.admin(.GET, "/api/batch-import/runs/\(runId)").json
            return run["artifact_path"] is String
        }, "run did not finish after the restart: \(run)")
        #expect(run["state"] as? String == "succeeded", "\(run)")
        let itemsReply = try await g.admin(.GET, "/api/batch-import/runs/\(runId)/items?limit=500").json
        let finished = try #require(itemsReply["data"] as? [[String: Any]])
        #expect(finished.count == total)
        #expect(finished.allSatisfy { $0["outcome"] as? String == "created" }, "exactly one outcome per item")
        // One channel per item: no item provisioned twice across the crash.
        let channels = try await g.admin(.GET, "/api/channels?limit=500").json["data"] as? [[String: Any]] ?? []
        #expect(channels.count == total && channels.allSatisfy { $0["status"] as? String == "enabled" })
        // One artifact folder for the run, one run.finished event.
        let artifacts = g.tmp.path + "/artifacts/batch-import"
        let folders = try FileManager.default.contentsOfDirectory(atPath: artifacts).filter { $0.hasSuffix(runId) }
        #expect(folders.count == 1, "\(folders)")
        let events = try await g.request(.GET, "\(g.base)/api/batch-import/runs/\(runId)/events",
                                         headers: [("authorization", "Bearer \(g.adminToken)")])
        #expect(events.body.components(separatedBy: "event: run.finished").count == 2)
        try Self.validateWithJSONSchema(run["artifact_path"] as! String)
        g.daemon.signal(SIGTERM)
        #expect(await g.daemon.waitForExit(timeout: .seconds(20)) == 0)
    }

    @Test func commandLinePostsFollowsAndVerifies() async throws {
        let g = try await GatewayProcess(extraArgs: ["--allow-private-upstreams", "--artifacts-dir", "{tmp}/ART"])
        let list = g.tmp.path + "/list.txt"
        try "# two good, one that cannot authenticate\n\(g.mockBase) sk-cli-good-0001\n\(g.mockBase) sk-cli-good-0002 openai\n\(g.mockBase) sk-cli-bad-00003\n"
            .write(toFile: list, atomically: true, encoding: .utf8)
        try await g.setFaults([["key": "sk-cli-bad-00003", "fault": ["status": 401]]])
        let cli = try DaemonProcess(["batch-import", list, "--server", g.base, "--wait", "--confirm-delay", "0"],
                                    environment: ["SWITCHYARD_ADMIN_TOKEN": g.adminToken], logDir: g.tmp.path, name: "cli")
        let status = await cli.waitForExit(timeout: .seconds(60))
        #expect(status == 3, "partially succeeded: \(cli.stderr)")
        let path = cli.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(path.hasSuffix("/summary.json") && FileManager.default.fileExists(atPath: path), "\(cli.stdout)")
        #expect(cli.stderr.contains("3/3 done, 1 failed, 0 remaining"), "\(cli.stderr)")
        #expect(!cli.stderr.contains("sk-cli"), "no key in the CLI's output")

        let verify = try DaemonProcess(["artifacts", "verify", path, "--schema-dir", Self.root + "/artifacts/schema"],
                                       logDir: g.tmp.path, name: "verify")
        #expect(await verify.waitForExit(timeout: .seconds(30)) == 0, "\(verify.stderr)")
        // A summary whose counts were tampered with fails verification.
        var summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        var counts = summary["counts"] as! [String: Any]
        counts["failed"] = 0
        summary["counts"] = counts
        let tampered = g.tmp.path + "/tampered/batch-import/20260101T000000Z_run_0000000000000000"
        try FileManager.default.createDirectory(atPath: tampered, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: summary).write(to: URL(fileURLWithPath: tampered + "/summary.json"))
        let bad = try DaemonProcess(["artifacts", "verify", tampered, "--schema-dir", Self.root + "/artifacts/schema"],
                                    logDir: g.tmp.path, name: "verify-bad")
        #expect(await bad.waitForExit(timeout: .seconds(30)) == 1)
        #expect(bad.stderr.contains("invalid: $.counts"), "\(bad.stderr)")
        let listed = try DaemonProcess(["artifacts", "list", "--artifacts-dir", g.tmp.path + "/ART"], logDir: g.tmp.path, name: "list")
        #expect(await listed.waitForExit(timeout: .seconds(30)) == 0)
        #expect(listed.stdout.hasPrefix("batch-import\t"))
        g.daemon.signal(SIGTERM)
        _ = await g.daemon.waitForExit(timeout: .seconds(20))
    }

    /// Validates a summary with the `jsonschema` package (installed into `.build/sdk-venv` by scripts/test.sh): a
    /// validator written by someone else than the one that wrote the schema and the writer.
    static func validateWithJSONSchema(_ summary: String, schema: String = "batch-import") throws {
        let python = ProcessInfo.processInfo.environment["SWITCHYARD_SDK_PYTHON"] ?? root + "/.build/sdk-venv/bin/python"
        try #require(FileManager.default.isExecutableFile(atPath: python), "no python at \(python): run ./scripts/test.sh")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", """
            import json, sys, jsonschema
            schema = json.load(open(sys.argv[1])); doc = json.load(open(sys.argv[2]))
            jsonschema.Draft202012Validator.check_schema(schema)
            errors = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(doc)]
            print("\\n".join(errors) or "valid"); sys.exit(1 if errors else 0)
            """, root + "/artifacts/schema/\(schema).schema.json", summary]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try ProcessLaunch.run(process)
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "jsonschema: \(text)")
    }
}
