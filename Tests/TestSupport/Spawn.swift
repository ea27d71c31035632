import Foundation

/// Runs a program to its end with `posix_spawn`, its output (stdout and stderr) collected through a file: how the
/// tests start short-lived tools. Foundation's `Process.run()` on Linux crashed the test process (a bad pointer in
/// its memcpy) when suites started tools from several threads, even one at a time under a lock.
public enum Spawn {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The exit code (128 + signal when killed) and everything the program wrote.
    public static func run(_ path: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (Int32, String) {
        let outputPath = NSTemporaryDirectory() + "switchyard-tool-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of this process reaches the program, nor what it leaves running (a server `pg_ctl` starts):
        // an inherited pipe or socket of another test would stay open as long as that lives. (glibc 2.34's
        // `posix_spawn_file_actions_addclosefrom_np`, which Swift's Glibc module does not declare.)
        if let closeFrom = addCloseFrom { _ = closeFrom(&actions, 3) }
        let env = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0)=\($1)" }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = ProcessLaunch.exclusively { posix_spawn(&pid, path, &actions, nil, argv, envp) }
        guard spawned == 0 else { throw Failure(description: "cannot start \(path): errno \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let exitCode = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exitCode, text)
    }

    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private static let addCloseFrom: AddCloseFrom? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)
    }()
}
