import Logging
import PostgresNIO

/// The PostgreSQL database of a Switchyard process: PostgresNIO's pooled client for one `--database-url`, checked
/// reachable and migrated before anything uses it.
public final class PostgresDatabase: Sendable {
    public let url: DatabaseURL
    public let client: PostgresClient
    public let logger: Logger

    /// A client of at most `poolSize` connections; nothing connects until `run()` (or `withOpened`) runs it.
    public init(url: DatabaseURL, poolSize: Int, logger: Logger) throws {
        var configuration = try url.clientConfiguration()
        configuration.options.maximumConnections = max(1, poolSize)
        self.url = url
        self.logger = logger
        // The pool's own log lines (one per failed connection attempt while the database is away) only from warning
        // up: the store and the workers say once, in their words, that the database is unreachable.
        var background = logger
        background.logLevel = max(logger.logLevel, .warning)
        client = PostgresClient(configuration: configuration, backgroundLogger: background)
    }

    /// Opens one connection outside the pool and closes it. The pool retries a refused connection quietly for as
    /// long as a caller waits; this fails at once, naming the host and port (never the password), so a daemon
    /// pointed at the wrong place says so and exits.
    public func checkReachable() async throws {
        do {
            let connection = try await PostgresConnection.connect(
                configuration: try url.connectionConfiguration(), id: 0, logger: logger)
            try await connection.close()
        } catch {
            throw SchedulerError.database(
                "cannot connect to PostgreSQL at \(url.location) as \(url.user): \(PostgresErrorText.describe(error))")
        }
    }

    /// Runs `body` with `database` reachable, migrated by `migrator` (unless nil) and its pool running; shuts the
    /// pool down after.
    public static func withOpened<T: Sendable>(
        url: DatabaseURL, poolSize: Int = 10, migrator: PostgresMigrator?, logger: Logger,
        _ body: (PostgresDatabase) async throws -> T
    ) async throws -> T {
        let opened = try await open(url: url, poolSize: poolSize, migrator: migrator, logger: logger)
        do {
            let result = try await body(opened.database)
            await opened.stop()
            return result
        } catch {
            await opened.stop()
            throw error
        }
    }

    /// The database at `url`, checked reachable, its pool running and migrated by `migrator` (unless nil), with the
    /// migrations applied now and `stop`, which shuts the pool down. Nothing is left running when it throws.
    public static func open(url: DatabaseURL, poolSize: Int, migrator: PostgresMigrator?, logger: Logger) async throws
        -> (database: PostgresDatabase, applied: [String], stop: @Sendable () async -> Void) {
        let database = try PostgresDatabase(url: url, poolSize: poolSize, logger: logger)
        try await database.checkReachable()
        let client = await running(database.client)
        let stop: @Sendable () async -> Void = {
            client.cancel()
            await client.value
        }
        do {
            let applied = try await migrator?.migrate(database.client, logger: logger) ?? []
            return (database, applied, stop)
        } catch {
            await stop()
            throw error
        }
    }

    /// Starts `client.run()` in a task of its own and returns once it has begun, so the first query does not find the
    /// pool not yet running (PostgresNIO warns, then waits); cancelling the task stops the client.
    public static func running(_ client: PostgresClient) async -> Task<Void, Never> {
        let (begun, signal) = AsyncStream<Void>.makeStream()
        let task = Task {
            signal.finish()
            await client.run()
        }
        for await _ in begun {}
        return task
    }

    /// The server's version, e.g. `15.10 (Debian 15.10-0+deb12u1)`.
    public func serverVersion() async throws -> String {
        for try await version in try await client.query("SHOW server_version", logger: logger).decode(String.self) {
            return version
        }
        return ""
    }
}

extension PostgresDatabase {
    /// The server's durability settings, e.g. `fsync=on synchronous_commit=on`.
    public func durability() async throws -> String {
        var parts: [String] = []
        for setting in ["fsync", "synchronous_commit"] {
            for try await value in try await client.query("SELECT current_setting(\(setting))", logger: logger).decode(String.self) {
                parts.append("\(setting)=\(value)")
            }
        }
        return parts.joined(separator: " ")
    }
}

extension PostgresQueue {
    /// Empties the jobs table of a scratch database (the queue benchmark's), dead rows and index entries included.
    public func emptyScratchJobs() async throws {
        try await client.query("TRUNCATE jobs RESTART IDENTITY", logger: logger)
    }
}
