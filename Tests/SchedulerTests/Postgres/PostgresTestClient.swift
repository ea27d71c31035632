import Logging
import PostgresNIO
import Scheduler

/// Runs `body` with a running `PostgresClient` for `url`, and shuts the client down after.
func withPostgresClient<T: Sendable>(_ url: String, maximumConnections: Int = 4,
                                     _ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
    var configuration = try DatabaseURL(url).clientConfiguration()
    configuration.options.maximumConnections = maximumConnections
    let client = PostgresClient(configuration: configuration, backgroundLogger: Logger(label: "test.postgres"))
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        defer { group.cancelAll() }
        return try await body(client)
    }
}
