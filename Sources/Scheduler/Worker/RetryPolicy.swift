import Foundation
import Logging

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
