import Foundation
import Scheduler

/// Arguments of the `noop` and `sleep` kinds.
public struct TestJobArgs: Codable, Sendable {
    /// How long `sleep` sleeps, in milliseconds.
    public var ms: Int?
    /// A file to append `"<id> <attempt> <pid>\n"` to when the handler runs (crash and duplicate tests read it).
    public var log: String?
    /// Fail this many first attempts (for retry tests).
    public var failTimes: Int?

    enum CodingKeys: String, CodingKey {
        case ms, log
        case failTimes = "fail_times"
    }

    public init(ms: Int? = nil, log: String? = nil, failTimes: Int? = nil) {
        self.ms = ms
        self.log = log
        self.failTimes = failTimes
    }
}

/// `noop`: does nothing (benchmarks); `sleep`: sleeps `ms` (drain and lease tests). Both can log each run.
public struct TestJob: JobHandler {
    public let kind: String

    public static let noop = TestJob(kind: "noop")
    public static let sleep = TestJob(kind: "sleep")

    public func run(_ context: JobContext) async throws -> JobResult {
        let job = context.job
        // The common no-op case skips JSON decoding: benchmarks measure the queue, not the decoder.
        if job.args == "{}" { return .completed }
        let args = try context.decode(TestJobArgs.self)
        if let path = args.log { try RunLog.append("\(job.id) \(job.attempt) \(getpid())\n", to: path) }
        if let ms = args.ms, kind == "sleep" { try await Task.sleep(for: .milliseconds(ms)) }
        if let failTimes = args.failTimes, job.attempt <= failTimes {
            throw JobError.retryAfter(.milliseconds(10), "planned failure \(job.attempt) of \(failTimes)")
        }
        return .completed
    }
}
