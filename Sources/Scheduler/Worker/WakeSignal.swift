import Synchronization

/// A coalescing wake-up for one waiting task: raises set flags; a wait returns the flags raised since the last wait.
public final class WakeSignal: Sendable {
    /// Why the waiter was woken.
    public struct Reason: OptionSet, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let work = Reason(rawValue: 1)
        public static let completion = Reason(rawValue: 2)
        public static let stop = Reason(rawValue: 4)
        public static let timeout = Reason(rawValue: 8)
    }

    private struct State {
        var raised: Reason = []
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    public init() {}

    /// Sets `reason` and wakes the waiter, if any.
    public func raise(_ reason: Reason) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.raised.formUnion(reason)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Takes the raised reasons without waiting.
    public func take() -> Reason {
        state.withLock { state in
            defer { state.raised = [] }
            return state.raised
        }
    }

    /// Waits until something is raised or `deadline` passes, and returns what was raised.
    public func wait(until deadline: ContinuousClock.Instant) async -> Reason {
        let now = ContinuousClock.now
        if now >= deadline { return take().union(.timeout) }
        let ready = state.withLock { !$0.raised.isEmpty }
        if ready { return take() }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitRaised() }
            group.addTask {
                do {
                    try await Task.sleep(until: deadline, clock: .continuous)
                    self.raise(.timeout)
                } catch {}
            }
            await group.next()
            group.cancelAll()
        }
        return take()
    }

    private func waitRaised() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if !state.raised.isEmpty || Task.isCancelled { return true }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}
