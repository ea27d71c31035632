/// Errors of the job queue. Messages carry context, never secrets.
public struct SchedulerError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The broad kind of failure, for mapping to a status code.
    public enum Code: String, Sendable {
        case notFound
        case conflict
        case invalidJob
        case leaseLost
        case database
    }

    public let code: Code
    public let message: String

    public var description: String { message }

    public static func notFound(_ id: Int64) -> Self { .init(code: .notFound, message: "job \(id) not found") }
    public static func conflict(_ message: String) -> Self { .init(code: .conflict, message: message) }
    public static func invalidJob(_ message: String) -> Self { .init(code: .invalidJob, message: message) }
    public static func leaseLost(_ id: Int64) -> Self {
        .init(code: .leaseLost, message: "job \(id): lease lost (taken over or cancelled)")
    }
    public static func database(_ message: String) -> Self { .init(code: .database, message: message) }
}
