import Foundation
import Logging

/// One handler per job kind. Handlers are idempotent: running one twice has the effect of running it once.
public protocol JobHandler: Sendable {
    /// The kind this handler runs, e.g. `import.item`.
    var kind: String { get }
    /// Runs one attempt.
    func run(_ context: JobContext) async throws -> JobResult
    /// The delay before the next attempt after a failure; the pool's policy by default.
    func backoff(attempt: Int, policy: RetryPolicy) -> Duration
}

extension JobHandler {
    public func backoff(attempt: Int, policy: RetryPolicy) -> Duration { policy.delay(afterAttempt: attempt) }
}
