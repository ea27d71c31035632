import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// SIGTERM and SIGINT, trapped from the first moment of `serve` rather than from when the service group runs:
/// a signal that arrives while the daemon is still opening its database, migrating it or loading the catalog
/// used to find the default action (the process died by the signal instead of exiting 0). A signal received
/// before the group exists is remembered and stops the group as soon as it is attached.
final class ShutdownSignals: Sendable {
    private struct State {
        var requested = false
        var group: ServiceGroup?
    }

    private let state = Mutex(State())
    private let signals: UnixSignalsSequence
    private let logger: Logger

    private init(signals: UnixSignalsSequence, logger: Logger) {
        self.signals = signals
        self.logger = logger
    }

    /// Installs the handlers; returns once they are registered.
    static func trap(logger: Logger) async -> ShutdownSignals {
        ShutdownSignals(signals: await UnixSignalsSequence(trapping: .sigterm, .sigint), logger: logger)
    }

    /// Whether a signal has been received.
    var requested: Bool { state.withLock { $0.requested } }

    /// Runs `body` while listening for the signals; each one shuts the attached group down gracefully.
    func listening<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self, returning: T.self) { tasks in
            tasks.addTask {
                for await signal in self.signals {
                    self.logger.info("signal caught; shutting down", metadata: ["signal": "\(signal)"])
                    await self.request()
                }
            }
            defer { tasks.cancelAll() }
            return try await body()
        }
    }

    /// Hands graceful shutdown to `group`; if a signal came first, the group is told at once (it remembers
    /// the request until it runs, then starts its services and stops them straight away).
    func attach(_ group: ServiceGroup) async {
        let requested = state.withLock { state in
            state.group = group
            return state.requested
        }
        if requested { await group.triggerGracefulShutdown() }
    }

    private func request() async {
        let group = state.withLock { state in
            state.requested = true
            return state.group
        }
        await group?.triggerGracefulShutdown()
    }
}
