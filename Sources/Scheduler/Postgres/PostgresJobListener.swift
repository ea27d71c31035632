import Logging
import PostgresNIO
import ServiceLifecycle

/// Wakes this process's idle workers when any process enqueues: `LISTEN switchyard_jobs` on one pooled
/// connection, each notification's payload (a queue's name) raised on the queue's `QueueNotifier`.
///
/// A lost connection is taken again after `retryDelay`; meanwhile, and for a notification missed in the gap,
/// the workers' poll is the fallback. On every (re)connection all queues are woken once, since work may have
/// arrived unannounced while it was down.
public final class PostgresJobListener: Service {
    let client: PostgresClient
    let notifier: QueueNotifier
    let logger: Logger
    let retryDelay: Duration
    /// Called each time listening starts (tests wait for it before they enqueue).
    let onListening: @Sendable () -> Void

    public init(queue: PostgresQueue, retryDelay: Duration = .seconds(1), onListening: @escaping @Sendable () -> Void = {}) {
        client = queue.client
        notifier = queue.notifier
        logger = queue.logger
        self.retryDelay = retryDelay
        self.onListening = onListening
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await self.client.withConnection { connection in
                        try await connection.listen(on: PostgresQueue.channel) { notifications in
                            self.notifier.notifyAll()
                            self.onListening()
                            for try await notification in notifications {
                                self.notifier.notify(queues: CollectionOfOne(notification.payload))
                            }
                        }
                    }
                } catch {
                    if Task.isCancelled { return }
                    self.logger.warning("job notifications lost; workers poll until listening again",
                                        metadata: ["error": "\(PostgresErrorText.describe(error))"])
                }
                try? await Task.sleep(for: self.retryDelay)
            }
        }
    }
}
