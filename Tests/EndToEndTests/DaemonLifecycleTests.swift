import Foundation
import Scheduler
import Store
import Testing

@Suite(.serialized, .processDiagnostics) struct DaemonLifecycleTests {

    /// SIGTERM: running jobs finish inside the drain timeout, the HTTP server stops, the process exits 0.
    @Test func sigtermDrainsRunningJobsAndExitsZero() async throws {
        let tmp = try TempDir()
        let dataDir = tmp.path + "/data"
        let queue = try openQueue(dataDir: dataDir)
        let ids = try await queue.enqueue((0..<4).map { _ in NewJob(kind: "sleep", args: #"{"ms":1500}"#) }).map(\.id)
        let daemon = try DaemonProcess(
            ["serve", "--data-dir", dataDir, "--port", "0", "--drain-timeout", "10"],
            environment: ["SWITCHYARD_ADMIN_TOKEN": "t"], logDir: tmp.path, name: "daemon")
        #expect(await eventually(timeout: .seconds(30)) { try await queue.count(.running) == 4 })
        daemon.signal(SIGTERM)
        #expect(await daemon.waitForExit(timeout: .seconds(20)) == 0)
        for id in ids { #expect(try await queue.job(id: id)?.state == .completed) }
    }

    /// SIGTERM with a job longer than the drain timeout: it is released (not failed), the process exits 0.
    @Test func sigtermReleasesJobsThatOutlastTheDrain() async throws {
        let tmp = try TempDir()
        let dataDir = tmp.path + "/data"
        let queue = try openQueue(dataDir: dataDir)
        let id = try await queue.enqueue([NewJob(kind: "sleep", args: #"{"ms":60000}"#)])[0].id
        let daemon = try DaemonProcess(
            ["serve", "--role", "worker", "--data-dir", dataDir, "--drain-timeout", "1"], logDir: tmp.path, name: "daemon")
        #expect(await eventually(timeout: .seconds(30)) { try await queue.job(id: id)?.state == .running })
        daemon.signal(SIGTERM)
        #expect(await daemon.waitForExit(timeout: .seconds(15)) == 0)
        let job = try #require(try await queue.job(id: id))
        #expect(job.state == .available && job.attempt == 0 && job.errors.isEmpty)
    }

    @Test func corruptDatabaseFailsAtStartWithAClearMessage() async throws {
        let tmp = try TempDir()
        let dataDir = tmp.path + "/data"
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        try Data(repeating: 0x42, count: 8192).write(to: URL(fileURLWithPath: dataDir + "/switchyard.sqlite"))
        let daemon = try DaemonProcess(["serve", "--data-dir", dataDir, "--port", "0"], logDir: tmp.path, name: "corrupt")
        let status = await daemon.waitForExit(timeout: .seconds(20))
        #expect(status != nil && status != 0)
        #expect(daemon.stderr.contains("switchyard.sqlite"))
        #expect(daemon.stderr.contains("not a database"))
    }

    @Test func dataDirThatIsAFileFailsAtStart() async throws {
        let tmp = try TempDir()
        let dataDir = tmp.path + "/file"
        FileManager.default.createFile(atPath: dataDir, contents: Data("x".utf8))
        let daemon = try DaemonProcess(["serve", "--data-dir", dataDir], logDir: tmp.path, name: "file")
        let status = await daemon.waitForExit(timeout: .seconds(20))
        #expect(status != nil && status != 0)
        #expect(daemon.stderr.contains("is not a directory"))
    }

    @Test func readOnlyDataDirFailsAtStart() async throws {
        let tmp = try TempDir()
        let dataDir = tmp.path + "/ro"
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let undo = try makeReadOnly(dataDir)
        defer { undo() }
        let daemon = try DaemonProcess(["serve", "--data-dir", dataDir], logDir: tmp.path, name: "ro")
        let status = await daemon.waitForExit(timeout: .seconds(20))
        #expect(status != nil && status != 0)
        #expect(daemon.stderr.contains("not writable"), "stderr: \(daemon.stderr)")
    }

    /// Makes `dir` read-only for this process: by mode bits for an ordinary user, by a read-only tmpfs mount for
    /// root (whom mode bits do not stop).
    private func makeReadOnly(_ dir: String) throws -> () -> Void {
        if getuid() != 0 {
            chmod(dir, 0o555)
            return { chmod(dir, 0o755) }
        }
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/bin/mount")
        mount.arguments = ["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", dir]
        try mount.run()
        mount.waitUntilExit()
        try #require(mount.terminationStatus == 0, "root needs a read-only mount to test a read-only data dir")
        return {
            let umount = Process()
            umount.executableURL = URL(fileURLWithPath: "/bin/umount")
            umount.arguments = [dir]
            try? umount.run()
            umount.waitUntilExit()
        }
    }
}
