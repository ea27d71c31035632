import Foundation
import GRDB
import Testing

/// Each command's start-up failures end in one line on stderr and exit 1 (2 for usage errors), never a trap,
/// and SIGTERM during start-up stops `serve` cleanly.
@Suite(.serialized, .processDiagnostics) struct StartupFailureTests {
    let cli = CommandLineTests()

    /// The lines a process wrote to stderr, without blank ones.
    private func lines(_ text: String) -> [String] {
        text.split(separator: "\n").filter { !$0.allSatisfy(\.isWhitespace) }.map(String.init)
    }

    /// No trap, no backtrace: the crash this suite guards against printed "Fatal error: Client not shut down
    /// before the deinit" and ~200 lines of backtrace.
    private func expectNoCrash(_ err: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!err.contains("Fatal error") && !err.contains("backtrace") && !err.contains("Backtrace"),
                "stderr: \(err)", sourceLocation: sourceLocation)
    }

    @Test(arguments: [true, false])
    func secondServeOnABusyPortSaysAddressInUse(sameDataDir: Bool) async throws {
        let tmp = try TempDir()
        let token = "sya_secret_token_for_the_port_test"
        let first = try DaemonProcess(["serve", "--data-dir", tmp.path + "/first", "--port", "0"],
                                      environment: ["SWITCHYARD_ADMIN_TOKEN": token], logDir: tmp.path, name: "first")
        let port = try #require(await first.listeningPort(), "first daemon did not start")
        let dataDir = tmp.path + (sameDataDir ? "/first" : "/second")
        let second = try DaemonProcess(["serve", "--data-dir", dataDir, "--port", "\(port)"],
                                       environment: ["SWITCHYARD_ADMIN_TOKEN": token], logDir: tmp.path, name: "second")
        let status = await second.waitForExit(timeout: .seconds(30))
        #expect(status == 1 && second.process.terminationReason == .exit)
        let err = second.stderr
        expectNoCrash(err)
        #expect(lines(err) == ["switchyard: error: cannot listen on 127.0.0.1:\(port): address already in use"], "stderr: \(err)")
        #expect(!(err + second.stdout).contains(token))
        // The first daemon is untouched and still stops cleanly.
        #expect(try await httpGet("http://127.0.0.1:\(port)/health").status == 200)
        first.signal(SIGTERM)
        #expect(await first.waitForExit(timeout: .seconds(20)) == 0)
    }

    /// PostgreSQL unreachable at start: `serve` and the control verbs say so in one line naming host, port, database
    /// and user, never the password, and exit 1.
    @Test(arguments: [["serve", "--port", "0"], ["jobs", "list"], ["db", "status"]])
    func unreachablePostgresIsOneLineWithoutThePassword(command: [String]) async throws {
        let tmp = try TempDir()
        let port = try freeLoopbackPort()
        let url = "postgres://switchyard:s3cret-pw-0042@127.0.0.1:\(port)/yard?sslmode=disable"
        let (status, _, err) = try await cli.run(command + ["--data-dir", tmp.path + "/data", "--database-url", url], in: tmp.path)
        #expect(status == 1)
        expectNoCrash(err)
        #expect(lines(err) == ["switchyard: error: cannot connect to PostgreSQL at 127.0.0.1:\(port)/yard as switchyard: Connection refused"],
                "stderr: \(err)")
        #expect(!err.contains("s3cret"))
    }

    @Test func mockUpstreamOnABusyPortSaysAddressInUse() async throws {
        let tmp = try TempDir()
        let first = try DaemonProcess(["mock-upstream", "--port", "0"], logDir: tmp.path, name: "mock")
        let port = try #require(await first.listeningPort(), "mock did not start")
        let (status, _, err) = try await cli.run(["mock-upstream", "--port", "\(port)"], in: tmp.path)
        #expect(status == 1)
        expectNoCrash(err)
        #expect(lines(err) == ["switchyard: error: cannot listen on 127.0.0.1:\(port): address already in use"], "stderr: \(err)")
    }

    @Test func batchImportOfAMissingFileSaysSo() async throws {
        let tmp = try TempDir()
        let missing = tmp.path + "/does/not/exist.txt"
        let (status, _, err) = try await cli.run(["batch-import", missing, "--server", "http://127.0.0.1:\(try freeLoopbackPort())",
                                                  "--token", "sya_secret_batch_token"], in: tmp.path)
        #expect(status == 1)
        expectNoCrash(err)
        #expect(lines(err) == ["switchyard: error: no such file: \(missing)"], "stderr: \(err)")
    }

    @Test func artifactsVerifyWithoutItsSchemaSaysWhereItLooked() async throws {
        let tmp = try TempDir()
        let run = tmp.path + "/artifacts/batch-import/20260101T000000Z_run_x"
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: URL(fileURLWithPath: run + "/summary.json"))
        let (status, _, err) = try await cli.run(["artifacts", "verify", "run_x", "--artifacts-dir", tmp.path + "/artifacts",
                                                  "--schema-dir", tmp.path + "/no-schemas"], in: tmp.path)
        #expect(status == 1)
        expectNoCrash(err)
        #expect(lines(err).count == 1 && err.hasPrefix("switchyard: error: no schema for batch-import: looked for ") && !err.contains("NSCocoaErrorDomain"),
                "stderr: \(err)")
    }

    @Test func controlVerbsRefuseAMissingDatabase() async throws {
        let tmp = try TempDir()
        let mistyped = tmp.path + "/dtaa"
        for verb in [["jobs", "list"], ["jobs", "enqueue", "noop"], ["schedules", "list"]] {
            let (status, out, err) = try await cli.run(verb + ["--data-dir", mistyped], in: tmp.path)
            #expect(status == 1, "\(verb): \(out)")
            expectNoCrash(err)
            #expect(lines(err) == ["switchyard: error: no database at \(mistyped)/switchyard.sqlite: check --data-dir (only `switchyard serve` creates one)"],
                    "\(verb): \(err)")
        }
        #expect(!FileManager.default.fileExists(atPath: mistyped), "a control verb created the data dir")
        // An existing directory without a database is refused too, and left without one.
        let empty = tmp.path + "/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let (status, _, err) = try await cli.run(["jobs", "list", "--data-dir", empty], in: tmp.path)
        #expect(status == 1 && err.contains("no database at"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: empty).isEmpty)
    }

    @Test func commandsAgainstADownServerSayCannotReach() async throws {
        let tmp = try TempDir()
        let port = try freeLoopbackPort()
        let server = "http://127.0.0.1:\(port)"
        let token = "sya_secret_token_never_printed"
        let list = tmp.path + "/list.txt"
        try "http://127.0.0.9:9 sk-secret-upstream-key\n".write(toFile: list, atomically: true, encoding: .utf8)
        for verb in [["jobs", "list"], ["schedules", "list"], ["jobs", "enqueue", "noop"], ["batch-import", list]] {
            let (status, out, err) = try await cli.run(verb + ["--server", server, "--token", token], in: tmp.path)
            #expect(status == 1, "\(verb)")
            expectNoCrash(err)
            #expect(lines(err) == ["switchyard: error: cannot reach \(server): connection refused"], "\(verb): \(err)")
            #expect(!(out + err).contains(token) && !(out + err).contains("sk-secret-upstream-key"))
        }
    }

    @Test(arguments: [
        ["serve", "--port", "99999"],
        ["serve", "--queue", "default"],
        ["serve", "--no-such-flag"],
        ["jobs", "list", "--limit", "many"],
        ["jobs", "list", "--state", "sleeping"],
        ["jobs", "list", "--server", "localhost:8080"],
        ["jobs", "enqueue", "noop", "--args", "{oops"],
        ["batch-import", "list.txt", "--server", "ftp://127.0.0.1"],
        ["schedules", "set", "usage.settle"],
        ["no-such-command"],
    ])
    func badFlagsExitTwo(arguments: [String]) async throws {
        let tmp = try TempDir()
        let (status, _, err) = try await cli.run(arguments + ["--data-dir", tmp.path + "/data"], in: tmp.path)
        #expect(status == 2, "stderr: \(err)")
        expectNoCrash(err)
        #expect(err.hasPrefix("Error: "), "stderr: \(err)")
        #expect(!FileManager.default.fileExists(atPath: tmp.path + "/data"), "a usage error opened the data dir")
    }

    @Test func helpExitsZero() async throws {
        let tmp = try TempDir()
        let (status, out, err) = try await cli.run(["jobs", "list", "--help"], in: tmp.path)
        #expect(status == 0 && out.contains("--data-dir") && err.isEmpty)
    }

    /// SIGTERM while the daemon is still starting (here: waiting for a database another process holds) stops it
    /// with exit 0, instead of killing it before the service group has installed its handlers.
    @Test func sigtermDuringStartUpExitsZero() async throws {
        let tmp = try TempDir()
        let dataDir = tmp.path + "/data"
        try createDatabase(dataDir: dataDir)
        // An exclusive lock held across accesses: the daemon's open waits in its busy handler (10 s budget).
        var configuration = Configuration()
        configuration.allowsUnsafeTransactions = true
        let holder = try DatabaseQueue(path: dataDir + "/switchyard.sqlite", configuration: configuration)
        try await holder.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA locking_mode = EXCLUSIVE")
            try db.execute(sql: "BEGIN EXCLUSIVE")
            try db.execute(sql: "CREATE TABLE held_by_test (x)")  // a write, so the lock is taken now; rolled back below
        }
        let daemon = try DaemonProcess(["serve", "--role", "worker", "--data-dir", dataDir, "--artifacts-dir", tmp.path + "/artifacts"],
                                       logDir: tmp.path, name: "daemon")
        let opened = await eventually(timeout: .seconds(30)) { daemon.hasOpen(dataDir + "/switchyard.sqlite") }
        try await Task.sleep(for: .milliseconds(200))
        daemon.signal(SIGTERM)
        try await Task.sleep(for: .milliseconds(300))
        try await holder.writeWithoutTransaction { db in try db.execute(sql: "ROLLBACK") }
        try holder.close()
        #expect(opened, "the daemon never opened its database")
        #expect(await daemon.waitForExit(timeout: .seconds(20)) == 0)
        #expect(daemon.process.terminationReason == .exit)
        #expect(daemon.stderr.contains("stopped during start-up"))
    }
}

/// A loopback port nothing listens on: bound to port 0, read back and released.
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EMFILE) }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    guard withUnsafeMutablePointer(to: &address, {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }) == 0 else { throw POSIXError(.EINVAL) }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// `serve` runs its services preferring the event loops as task executor: with the loops as the global executor
/// alone, swift-async-algorithms' `merge` (Hummingbird's date cache) deadlocked a loop's thread. The same executor
/// set-up under many merged fast timers must keep making progress.
@Suite(.processDiagnostics) struct ExecutorDeadlockTests {
    @Test func mergedTimersOnTheEventLoopsKeepRunning() async throws {
        let tmp = try TempDir()
        let (status, out, err) = try await CommandLineTests().run(["bench", "executor", "--seconds", "4"], in: tmp.path)
        #expect(status == 0 && out.contains("no deadlock"), "stdout: \(out) stderr: \(err)")
    }
}
