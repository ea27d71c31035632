/// One row of a result: its values in column order, and the columns' names.
public struct SQLRow: Sendable {
    public let columns: [String]
    public let values: [SQLValue]

    public init(columns: [String], values: [SQLValue]) {
        self.columns = columns
        self.values = values
    }

    /// The value at `index` as `T`; a type the column cannot hold is an error, as on GRDB.
    public func get<T: SQLValueConvertible>(_ index: Int, as type: T.Type = T.self) throws -> T {
        guard index < values.count else { throw StoreError.database("column \(index) out of range") }
        guard let value = T(sqlValue: values[index]) else {
            throw StoreError.database("column \(columns[index]) holds \(values[index].kind), not \(T.self)")
        }
        return value
    }

    /// The value of the column named `name` as `T`.
    public func get<T: SQLValueConvertible>(_ name: String, as type: T.Type = T.self) throws -> T {
        guard let index = columns.firstIndex(of: name) else { throw StoreError.database("no column \(name) in the row") }
        return try get(index, as: type)
    }

    /// The raw value of the column named `name`, or nil when the row has no such column.
    public func value(named name: String) -> SQLValue? {
        columns.firstIndex(of: name).map { values[$0] }
    }
}

extension SQLValue {
    /// The storage class, for error messages (never the value, which may be a secret).
    var kind: String {
        switch self {
        case .null: "NULL"
        case .integer: "an integer"
        case .real: "a real"
        case .text: "text"
        case .blob: "a blob"
        }
    }
}

extension SQLRow {
    /// The value of the column named `name` as `T` (an optional `T` for a column that may hold NULL).
    public subscript<T: SQLValueConvertible>(_ name: String) -> T {
        get throws { try get(name, as: T.self) }
    }
}

extension SQLRow {
    /// The value at `index` as `T`.
    public subscript<T: SQLValueConvertible>(_ index: Int) -> T {
        get throws { try get(index, as: T.self) }
    }
}
