import Foundation
import Logging

/// What a handler tells the worker when it returns normally.
public enum JobResult: Sendable, Equatable {
    /// The job is done.
    case completed
    /// Run again after `delay`; not counted as an attempt.
    case snooze(Duration)
    /// Stop for good, with a reason kept on the job.
    case cancel(String)
}

/// Errors a handler throws to steer the retry decision; any other error is a retryable failure.
public struct JobError: Error, CustomStringConvertible, Sendable {
    enum Code: Sendable { case discard, retryAfter }
    let code: Code
    public let message: String
    let delay: Duration?

    public var description: String { message }

    /// Fail permanently: no further attempt whatever the window.
    public static func discard(_ message: String) -> JobError { .init(code: .discard, message: message, delay: nil) }
    /// Fail this attempt and retry no sooner than `delay` (e.g. an upstream's `retry-after`).
    public static func retryAfter(_ delay: Duration, _ message: String) -> JobError {
        .init(code: .retryAfter, message: message, delay: delay)
    }
}

/// What a handler sees of the job it runs.
public struct JobContext: Sendable {
    public let job: ClaimedJob
    public let logger: Logger

    public init(job: ClaimedJob, logger: Logger) {
        self.job = job
        self.logger = logger
    }

    /// Decodes the job's JSON arguments.
    public func decode<Args: Decodable>(_ type: Args.Type = Args.self) throws -> Args {
        do {
            return try JSONDecoder().decode(Args.self, from: Data(job.args.utf8))
        } catch {
            throw JobError.discard("invalid args for \(job.kind): \(error)")
        }
    }
}

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

/// The handlers a worker pool can run, by kind.
public struct JobRegistry: Sendable {
    private var handlers: [String: any JobHandler] = [:]

    public init(_ handlers: [any JobHandler] = []) {
        for handler in handlers { register(handler) }
    }

    public mutating func register(_ handler: any JobHandler) {
        handlers[handler.kind] = handler
    }

    public func handler(for kind: String) -> (any JobHandler)? { handlers[kind] }

    public var kinds: [String] { handlers.keys.sorted() }
}

/// Exponential backoff with jitter: `base × 2^(attempt-1)`, capped, then ±`jitter` of it.
public struct RetryPolicy: Sendable {
    public var base: Duration
    public var cap: Duration
    /// The fraction of the delay added or taken at random (0.2 = ±20 %).
    public var jitter: Double

    public init(base: Duration = .seconds(1), cap: Duration = .seconds(3600), jitter: Double = 0.2) {
        self.base = base
        self.cap = cap
        self.jitter = jitter
    }

    public func delay(afterAttempt attempt: Int) -> Duration {
        let exponent = min(max(attempt - 1, 0), 40)
        let raw = min(Double(base.milliseconds) * pow(2, Double(exponent)), Double(cap.milliseconds))
        let factor = 1 + Double.random(in: -jitter...jitter)
        return .milliseconds(Int64(max(0, raw * factor)))
    }
}
