/// The conditions of a `WHERE` clause, built up one at a time with their arguments.
public struct SQLFilter: Sendable {
    public private(set) var conditions: [String] = []
    public private(set) var arguments: SQLArguments = []

    public init() {}

    public init(_ condition: String, _ arguments: SQLArguments = []) { add(condition, arguments) }

    public mutating func add(_ condition: String, _ arguments: SQLArguments = []) {
        conditions.append(condition)
        self.arguments += arguments
    }

    /// ` WHERE a AND b`, or nothing without conditions.
    public var whereClause: String {
        conditions.isEmpty ? "" : " WHERE " + conditions.map { "(\($0))" }.joined(separator: " AND ")
    }
}
