import AsyncHTTPClient
import Foundation
import Synchronization
import Scheduler
@_spi(Engine) import Store
import Testing
@_exported import TestSupport

/// The `switchyard` binary built beside the test bundle (or `SWITCHYARD_BIN`).
let switchyardBinary: String = {
    if let path = ProcessInfo.processInfo.environment["SWITCHYARD_BIN"] { return path }
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent("switchyard").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    return ".build/debug/switchyard"
}()

/// A child `switchyard` process with its output captured to files. Inside a suite with `.processDiagnostics`,
/// a failing test reports its exit status and log tail.
final class DaemonProcess: @unchecked Sendable {  // the Process is only touched from the owning test
    let process = Process()
    let name: String
    let stdoutPath: String
    let stderrPath: String
    /// Set when `waitForExit` gave up and killed the process.
    private let killedAfter = Mutex<Duration?>(nil)

    init(_ arguments: [String], environment: [String: String] = [:], logDir: String, name: String) throws {
        self.name = name
        stdoutPath = "\(logDir)/\(name).out"
        stderrPath = "\(logDir)/\(name).err"
        FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: switchyardBinary)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["SWITCHYARD_EXIT_WITH_PARENT"] = "1"  // never outlive the test process
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        try ProcessLaunch.run(process)
        ProcessTestRecord.current?.add(self)
    }

    /// Whether the process has `path` open (read from /proc).
    func hasOpen(_ path: String) -> Bool {
        let fds = "/proc/\(pid)/fd"
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: fds)) ?? []
        return entries.contains { (try? FileManager.default.destinationOfSymbolicLink(atPath: "\(fds)/\($0)")) == path }
    }

    /// The arguments, for reports.
    var commandLine: String { (process.arguments ?? []).joined(separator: " ") }

    /// True when it exited with status 0, false when it ended otherwise, nil while it runs.
    var exitedCleanly: Bool? {
        process.isRunning ? nil : process.terminationReason == .exit && process.terminationStatus == 0
    }

    /// "exit status 1", "killed by signal 15", "still running", for reports.
    var exitDescription: String {
        if process.isRunning { return "still running" }
        var text = process.terminationReason == .uncaughtSignal
            ? "killed by signal \(process.terminationStatus)" : "exit status \(process.terminationStatus)"
        if let waited = killedAfter.withLock({ $0 }) { text += " (killed by the test after waiting \(waited) for it to exit)" }
        return text
    }

    var pid: Int32 { process.processIdentifier }
    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// The port the process printed it listens on (`serve` logs Hummingbird's "listening on host:port" line,
    /// `mock-upstream` prints "listening on http://host:port"); processes are started with port 0.
    func listeningPort(timeout: Duration = .seconds(60)) async -> Int? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline && process.isRunning {
            for line in (stdout + stderr).split(separator: "\n") where line.contains("listening on") {
                if let last = line.split(separator: ":").last, let port = Int(last.trimmingCharacters(in: .whitespaces)) { return port }
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    /// Waits for exit up to `timeout`; returns the exit status, or nil if it is still running (then it is killed).
    func waitForExit(timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning {
            killedAfter.withLock { $0 = timeout }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
    }
}

/// A temp directory removed at the end of the test, unless the test failed (see `ProcessTestRecord`).
final class TempDir: Sendable {
    let path: String
    private let kept = Mutex(false)

    init() throws {
        path = NSTemporaryDirectory() + "switchyard-e2e-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        ProcessTestRecord.current?.add(self)
    }

    /// Leaves the directory in place for a look after the run.
    func keep() { kept.withLock { $0 = true } }

    deinit {
        if !kept.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: path) }
    }
}

/// Creates and migrates the database in `dataDir` as `serve` does at its first start (the control verbs
/// refuse a data dir without one).
func createDatabase(dataDir: String) throws {
    _ = try AppDatabase.open(dataDir: dataDir)
}

/// The runs a job log recorded: id → [(attempt, pid)].
func readRunLog(_ path: String) throws -> [Int64: [(attempt: Int, pid: Int)]] {
    var runs: [Int64: [(attempt: Int, pid: Int)]] = [:]
    for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
        let parts = line.split(separator: " ")
        guard parts.count == 3, let id = Int64(parts[0]), let attempt = Int(parts[1]), let pid = Int(parts[2]) else {
            Issue.record("malformed run-log line: \(line)")
            continue
        }
        runs[id, default: []].append((attempt, pid))
    }
    return runs
}

/// Opens the daemon's database file from the test process (a second process on the same file).
func openQueue(dataDir: String) throws -> SQLiteQueue {
    SQLiteQueue(pool: try AppDatabase.open(dataDir: dataDir).pool)
}

/// GETs a URL over real loopback HTTP and returns the status and body text.
func httpGet(_ url: String) async throws -> (status: Int, body: String) {
    let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
    let body = try await response.body.collect(upTo: 16 << 20)
    return (Int(response.status.code), String(buffer: body))
}

/// The database end-to-end daemons share with the test process, on either engine: `args` point `serve` (and the
/// control verbs) at it; `store` is the test's own handle (a second process on the same database).
struct DaemonDatabase {
    let store: TestStore
    let dataDir: String

    init(_ engine: Engine, tmp: TempDir) async throws {
        store = try await TestStore(engine)
        dataDir = engine == .sqlite ? store.dir : tmp.path + "/data"
    }

    var db: AppDatabase { store.db }
    var queue: StoreQueue { store.queue }

    /// `--data-dir` (secrets and the admin token live there on either engine) and, on PostgreSQL, `--database-url`.
    var args: [String] {
        ["--data-dir", dataDir] + (store.databaseURL.map { ["--database-url", $0] } ?? [])
    }
}

extension QueueDriver {
    func count(_ state: JobState) async throws -> Int {
        try await counts().filter { $0.state == state }.reduce(0) { $0 + $1.count }
    }
}
