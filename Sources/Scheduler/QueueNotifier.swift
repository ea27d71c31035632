import Synchronization

/// In-process wake-ups: an enqueue that commits wakes the idle workers of its queue at once.
public final class QueueNotifier: Sendable {
    private let listeners = Mutex<[String: [WakeSignal]]>([:])

    public init() {}

    /// Registers a signal to be raised whenever `queue` gets new work.
    public func subscribe(queue: String, _ signal: WakeSignal) {
        listeners.withLock { $0[queue, default: []].append(signal) }
    }

    /// Removes a signal registered with `subscribe`.
    public func unsubscribe(queue: String, _ signal: WakeSignal) {
        listeners.withLock { $0[queue]?.removeAll { $0 === signal } }
    }

    /// Wakes every subscribed worker, whatever its queue (work may have arrived unannounced).
    public func notifyAll() {
        let signals = listeners.withLock { $0.values.flatMap { $0 } }
        for signal in signals { signal.raise(.work) }
    }

    /// Wakes every worker of the given queues.
    public func notify(queues: some Sequence<String>) {
        let signals = listeners.withLock { map in queues.flatMap { map[$0] ?? [] } }
        for signal in signals { signal.raise(.work) }
    }
}
