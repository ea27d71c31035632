import Foundation

/// Runs blocking work (a child process and the wait for it) on a Dispatch thread and awaits its result: blocking one
/// of Swift's cooperative threads, two on a 2-core machine, stalls every other suite's async work meanwhile.
public func offCooperativePool<T: Sendable>(_ body: @Sendable @escaping () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
    }
}
