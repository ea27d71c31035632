import Synchronization

/// Runs `body` in a task of its own and returns its answer, or throws `SchedulerError.database` once `limit` has
/// passed and `giveUp` agrees (the task is then cancelled, and not waited for: a client that ignores the
/// cancellation cannot hold the caller). The caller's own cancellation does not reach `body`, so a write it was
/// asked to make (acks at shutdown) is not abandoned half-way; the limit keeps a database that is away from holding
/// the caller.
public func answer<T: Sendable>(within limit: Duration, giveUp: @escaping @Sendable () -> Bool = { true },
                                _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let race = Race(continuation)
        let work = Task {
            do { race.finish(.success(try await body())) } catch { race.finish(.failure(error)) }
        }
        race.timer = Task {
            try await Task.sleep(for: limit)
            guard giveUp() else { return }
            work.cancel()
            race.finish(.failure(SchedulerError.database("no answer from the database within \(limit)")))
        }
    }
}

/// The first of a body's answer and a timeout, delivered once.
private final class Race<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T, any Error>?>
    private let timerTask = Mutex<Task<Void, any Error>?>(nil)

    init(_ continuation: CheckedContinuation<T, any Error>) { self.continuation = Mutex(continuation) }

    var timer: Task<Void, any Error>? {
        get { timerTask.withLock { $0 } }
        set { timerTask.withLock { $0 = newValue } }
    }

    func finish(_ result: Result<T, any Error>) {
        guard let continuation = continuation.withLock({ $0.take() }) else { return }
        timerTask.withLock { $0?.cancel() }
        continuation.resume(with: result)
    }
}
