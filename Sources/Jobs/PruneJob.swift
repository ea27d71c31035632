import Foundation
import Logging
import Scheduler

/// `yard.prune`: deletes finished jobs older than the retention, in small batches so no write holds the file long.
public struct PruneJob: JobHandler {
    public let kind = "yard.prune"
    let driver: any QueueDriver
    let retention: Duration

    public init(driver: any QueueDriver, retention: Duration = .seconds(7 * 24 * 3600)) {
        self.driver = driver
        self.retention = retention
    }

    public func run(_ context: JobContext) async throws -> JobResult {
        let cutoff = driver.clock.nowMillis() - retention.milliseconds
        var deleted = 0
        while true {
            try Task.checkCancellation()
            let count = try await driver.prune(finalizedBefore: cutoff, limit: 1000)
            deleted += count
            if count < 1000 { break }
        }
        context.logger.info("pruned finished jobs", metadata: ["deleted": "\(deleted)"])
        return .completed
    }
}

/// The built-in job kinds and schedules every daemon knows.
public enum BuiltinJobs {
    public static func registry(driver: any QueueDriver) -> JobRegistry {
        JobRegistry([TestJob.noop, TestJob.sleep, PruneJob(driver: driver)])
    }

    public static let schedules: [Schedule] = [
        Schedule(name: "yard.prune", kind: "yard.prune", queue: "maintenance", interval: .seconds(24 * 3600)),
    ]
}
