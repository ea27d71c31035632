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
        let (notifier, onListening) = (notifier, onListening)
        await cancelWhenGracefulShutdown {
            await self.client.listenUntilCancelled(
                on: PostgresQueue.channel, retryDelay: self.retryDelay, logger: self.logger,
                lost: "job notifications lost; workers poll until listening again",
                onListening: {
                    notifier.notifyAll()
                    onListening()
                },
                onNotification: { notifier.notify(queues: CollectionOfOne($0)) })
        }
    }
}
