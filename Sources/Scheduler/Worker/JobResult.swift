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
