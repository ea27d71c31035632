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
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
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

    /// Runs `body` with `database` reachable, migrated by `migrator` and its pool running; shuts the pool down after.
    public static func withOpened<T: Sendable>(
        url: DatabaseURL, poolSize: Int = 10, migrator: PostgresMigrator, logger: Logger,
        _ body: @Sendable (PostgresDatabase) async throws -> T
    ) async throws -> T {
        let database = try PostgresDatabase(url: url, poolSize: poolSize, logger: logger)
        try await database.checkReachable()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.client.run() }
            defer { group.cancelAll() }
            try await migrator.migrate(database.client, logger: logger)
            return try await body(database)
        }
    }
}
