import ArgumentParser
import AsyncAlgorithms
import Foundation
import Gateway
import Synchronization

/// `switchyard bench executor`: the daemon's executor set-up (the event loops as Swift's global executor, its services
/// preferring them as task executor) under many `merge`s of two fast timers, which is what Hummingbird's date cache
/// does once a second; prints merged elements/s, or exits 3 when progress stops (a loop thread deadlocked).
/// `--without-preference` runs them as `serve` did before it preferred the loops.
struct ExecutorBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "executor", abstract: "Stress the daemon's task executors with merged timers; exit 3 on a deadlock.")

    @Option(help: "Seconds to run.") var seconds: Int = 5
    @Option(help: "Merged timer pairs iterated at once.") var merges: Int = 16
    @Flag(help: "Leave out the task-executor preference (deadlocks within seconds).") var withoutPreference = false

    final class Progress: Sendable {
        let count = Atomic<Int>(0)
    }

    func run() async throws {
        guard GatewayApp.runTasksOnEventLoops() else { throw CLIError("cannot install the event loops as the global executor") }
        let progress = Progress()
        // A stalled count means every merge is stuck: a loop's thread blocked for good, so only another thread can say so.
        Thread.detachNewThread {
            var last = -1
            while true {
                Thread.sleep(forTimeInterval: 2)
                let now = progress.count.load(ordering: .relaxed)
                if now == last {
                    printError("switchyard: error: no progress for 2 s after \(now) merged elements: an event loop is deadlocked")
                    Foundation.exit(3)
                }
                last = now
            }
        }
        let deadline = ContinuousClock.now + .seconds(seconds)
        let merges = self.merges
        try await GatewayApp.withServices(onEventLoops: !withoutPreference) {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<merges {
                    group.addTask {
                        let a = AsyncTimerSequence(interval: .microseconds(50), clock: .continuous)
                        let b = AsyncTimerSequence(interval: .microseconds(70), clock: .continuous)
                        for await _ in merge(a, b) {
                            progress.count.add(1, ordering: .relaxed)
                            if ContinuousClock.now >= deadline { break }
                        }
                    }
                }
            }
        }
        let total = progress.count.load(ordering: .relaxed)
        print("executor: \(merges) merges for \(seconds) s, \(total) elements (\(total / max(seconds, 1))/s), preference \(withoutPreference ? "off" : "on"), no deadlock")
    }
}
