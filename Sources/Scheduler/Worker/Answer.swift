import Synchronization

/// Runs `body` in a task of its own and returns its answer, or throws `SchedulerError.database` once `limit` has
/// passed (cancelling it). The caller's own cancellation does not reach `body`, so a write it was asked to make
/// (acks at shutdown) is not abandoned half-way; the limit keeps a database that is away from holding the caller.
public func answer<T: Sendable>(within limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let work = Task { try await body() }
    let timedOut = Mutex(false)
    let timer = Task {
        try await Task.sleep(for: limit)
        timedOut.withLock { $0 = true }
        work.cancel()
    }
    defer { timer.cancel() }
    do {
        return try await work.value
    } catch {
        if timedOut.withLock({ $0 }) { throw SchedulerError.database("no answer from the database within \(limit)") }
        throw error
    }
}
