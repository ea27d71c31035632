import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A private PostgreSQL cluster for tests: `initdb` in a fresh temp dir, listening on a free loopback port only,
/// stopped and removed when the test process exits. One cluster per test process; each test takes a fresh database
/// with `PostgresServer.freshDatabase()`.
///
/// The binaries come from `SWITCHYARD_PG_BIN` or `/usr/lib/postgresql/15/bin` (`scripts/test.sh` installs
/// `postgresql-15` where it is missing). Without them the tests that need PostgreSQL fail with a clear error;
/// they never skip.
public final class PostgresServer: Sendable {
    /// Why the cluster could not be started or used.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The superuser the tests connect as (password authentication over TCP, like a real deployment).
    public let user = "switchyard"
    public let password: String
    public let port: Int
    /// The temp dir holding the cluster's data directory and log.
    public let directory: String
    private let bin: String
    private let stopped = Mutex(false)

    /// The cluster's `postgres` maintenance database, as a URL.
    public var adminURL: String { url(database: "postgres") }

    /// A `postgres://user:password@127.0.0.1:port/database` URL for one database of this cluster.
    public func url(database: String) -> String {
        "postgres://\(user):\(password)@127.0.0.1:\(port)/\(database)?sslmode=disable"
    }

    /// The shared cluster of this test process, started on first use.
    public static func shared() async throws -> PostgresServer {
        try await Shared.instance.server()
    }

    /// Creates an empty database on the shared cluster and returns its URL.
    public static func freshDatabase() async throws -> String {
        let server = try await shared()
        return try await offCooperativePool { try server.createDatabase() }
    }

    /// Creates an empty database with a random name and returns its URL.
    public func createDatabase() throws -> String {
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        try runClient("createdb", ["-h", "127.0.0.1", "-p", String(port), "-U", user, String(name)])
        return url(database: String(name))
    }

    /// Starts a new cluster (the shared one is usually what a test wants).
    public static func start() throws -> PostgresServer {
        let bin = ProcessInfo.processInfo.environment["SWITCHYARD_PG_BIN"] ?? "/usr/lib/postgresql/15/bin"
        for tool in ["initdb", "pg_ctl", "createdb"] where !FileManager.default.isExecutableFile(atPath: "\(bin)/\(tool)") {
            throw Failure(description: """
                PostgreSQL binaries not found: \(bin)/\(tool) is missing. Install postgresql-15 \
                (scripts/test.sh does it with apt-get) or point SWITCHYARD_PG_BIN at a PostgreSQL bin directory.
                """)
        }
        var lastError: (any Error)?
        for _ in 0..<3 {  // another process may take the free port between choosing it and binding it
            let directory = try makeDirectory()
            do {
                return try PostgresServer(bin: bin, directory: directory, port: stableLoopbackPort())
            } catch {
                lastError = error
                try? FileManager.default.removeItem(atPath: directory)
            }
        }
        throw lastError ?? Failure(description: "PostgreSQL did not start")
    }

    private init(bin: String, directory: String, port: Int) throws {
        self.bin = bin
        self.directory = directory
        self.port = port
        self.password = "pw-" + UUID().uuidString.lowercased()
        let data = directory + "/data"
        let passwordFile = directory + "/pwfile"
        try Data(password.utf8).write(to: URL(fileURLWithPath: passwordFile))
        try Self.handToPostgresUser(passwordFile)
        try runServerTool("initdb", ["-D", data, "-U", user, "--pwfile=\(passwordFile)", "--auth=scram-sha-256",
                                     "-E", "UTF8", "--no-locale", "--no-sync"])
        try FileManager.default.removeItem(atPath: passwordFile)
        // Loopback TCP only: no Unix socket, no other interface. fsync off: a test cluster dies with its tests.
        let settings = """

            listen_addresses = '127.0.0.1'
            port = \(port)
            unix_socket_directories = ''
            max_connections = 300
            fsync = off
            synchronous_commit = off
            full_page_writes = off

            """
        let conf = try FileHandle(forWritingTo: URL(fileURLWithPath: data + "/postgresql.conf"))
        try conf.seekToEnd()
        try conf.write(contentsOf: Data(settings.utf8))
        try conf.close()
        do {
            try runServerTool("pg_ctl", ["-D", data, "-l", directory + "/server.log", "-w", "-t", "60", "start"])
        } catch {
            let log = (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? ""
            throw Failure(description: "\(error)\nserver log:\n\(log.suffix(2000))")
        }
    }

    /// Stops the server (fast shutdown: sessions are cut) and keeps its data, as a restart or failover would.
    public func pause() throws {
        try runServerTool("pg_ctl", ["-D", directory + "/data", "-m", "fast", "-w", "-t", "60", "stop"])
    }

    /// Starts the server paused by `pause` again on the same port.
    public func resume() throws {
        try runServerTool("pg_ctl", ["-D", directory + "/data", "-l", directory + "/server.log", "-w", "-t", "60", "start"])
    }

    /// Stops the cluster (fast shutdown) and removes its directory. Safe to call more than once.
    public func stop() {
        let already = stopped.withLock { was in defer { was = true }; return was }
        guard !already else { return }
        try? runServerTool("pg_ctl", ["-D", directory + "/data", "-m", "fast", "-w", "-t", "60", "stop"])
        try? FileManager.default.removeItem(atPath: directory)
    }

    // MARK: - processes

    private static var isRoot: Bool { geteuid() == 0 }

    /// initdb and postgres refuse to run as root: as root, they run as the `postgres` account.
    private func runServerTool(_ tool: String, _ arguments: [String]) throws {
        if Self.isRoot {
            try Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", "\(bin)/\(tool)"] + arguments)
        } else {
            try Self.run("\(bin)/\(tool)", arguments)
        }
    }

    private func runClient(_ tool: String, _ arguments: [String]) throws {
        try Self.run("\(bin)/\(tool)", arguments, environment: ["PGPASSWORD": password, "PGCONNECT_TIMEOUT": "10"])
    }

    /// Runs a tool to its end with posix_spawn + waitpid. Not Foundation's `Process`: on Linux it waits for a
    /// socket that every descendant inherits, so it never sees `pg_ctl start` end while the server it leaves runs.
    private static func run(_ path: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        // Through `sh` to start in "/": the postgres account may not enter the caller's directory.
        let (exitCode, text) = try Spawn.run("/bin/sh", ["-c", "cd / && exec \"$@\"", "sh", path] + arguments, environment: environment)
        guard exitCode == 0 else {
            let name = (path as NSString).lastPathComponent
            throw Failure(description: "\(name) \(arguments.first ?? "") exited with \(exitCode): \(text)")
        }
    }


    private static func makeDirectory() throws -> String {
        var template = Array("/tmp/switchyard-pg-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw Failure(description: "mkdtemp failed: errno \(errno)") }
        let path = String(cString: made)
        try handToPostgresUser(path)
        return path
    }

    private static func handToPostgresUser(_ path: String) throws {
        guard isRoot else { return }
        guard let account = getpwnam("postgres") else {
            throw Failure(description: "running as root, but there is no `postgres` account to run the server as")
        }
        guard chown(path, account.pointee.pw_uid, account.pointee.pw_gid) == 0 else {
            throw Failure(description: "chown \(path) to postgres failed: errno \(errno)")
        }
    }

    /// A port that was free on 127.0.0.1 a moment ago (the kernel's choice for port 0).

    // MARK: - the shared cluster

    private actor Shared {
        static let instance = Shared()
        private var starting: Task<PostgresServer, any Error>?

        func server() async throws -> PostgresServer {
            if let starting { return try await starting.value }
            let task = Task { () throws -> PostgresServer in
                let server = try await offCooperativePool { try PostgresServer.start() }
                PostgresServer.atExit.withLock { $0 = server }
                atexit { PostgresServer.atExit.withLock { $0 }?.stop() }
                return server
            }
            starting = task
            return try await task.value
        }
    }

    /// The shared cluster, for the exit handler (a C function pointer cannot capture it).
    private static let atExit = Mutex<PostgresServer?>(nil)
}
