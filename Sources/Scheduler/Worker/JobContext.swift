import Foundation
import Logging

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
