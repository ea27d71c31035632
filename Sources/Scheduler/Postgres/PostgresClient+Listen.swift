import Logging
import PostgresNIO

extension PostgresClient {
    /// `LISTEN channel` on one pooled connection until the task is cancelled. A lost connection is taken again after
    /// `retryDelay`, with `lost` logged; `onListening` runs each time listening (re)starts, since notifications may
    /// have gone by unheard in the gap, and `onNotification` with each payload.
    public func listenUntilCancelled(on channel: String, retryDelay: Duration, logger: Logger, lost: Logger.Message,
                                     onListening: @escaping @Sendable () -> Void,
                                     onNotification: @escaping @Sendable (String) -> Void) async {
        while !Task.isCancelled {
            do {
                try await withConnection { connection in
                    try await connection.listen(on: channel) { notifications in
                        onListening()
                        for try await notification in notifications { onNotification(notification.payload) }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning(lost, metadata: ["error": "\(PostgresErrorText.describe(error))"])
            }
            try? await Task.sleep(for: retryDelay)
        }
    }
}
