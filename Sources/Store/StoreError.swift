/// Errors of the store. Messages carry context, never secrets.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable { case dataDir, database, notFound, conflict, inUse, invalid }

    public let code: Code
    public let message: String

    public var description: String { message }

    public static func dataDir(_ message: String) -> Self { .init(code: .dataDir, message: message) }
    public static func database(_ message: String) -> Self { .init(code: .database, message: message) }
    public static func notFound(_ message: String) -> Self { .init(code: .notFound, message: message) }
    public static func conflict(_ message: String) -> Self { .init(code: .conflict, message: message) }
    /// A conflict because something still uses the row (answered as `in_use`).
    public static func inUse(_ message: String) -> Self { .init(code: .inUse, message: message) }
    public static func invalid(_ message: String) -> Self { .init(code: .invalid, message: message) }
}
