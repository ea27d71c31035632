import Logging
import PostgresNIO

extension PostgresClient {
    /// `withTransaction`, throwing what the body threw rather than PostgresNIO's `PostgresTransactionError` around
    /// it: callers catch `SchedulerError` and their own errors as on SQLite. Errors of `BEGIN`, `COMMIT` and a
    /// failed `ROLLBACK` (with no body error) stay wrapped.
    public func inTransaction<Result: Sendable>(
        logger: Logger, _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        do {
            return try await withTransaction(logger: logger) { connection in try await body(connection) }
        } catch let error as PostgresTransactionError {
            if let closureError = error.closureError { throw closureError }
            throw error
        }
    }
}
