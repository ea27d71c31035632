import GRDB
import Scheduler

/// `StoreConnection` on SQLite: GRDB's `Database` inside one of its reads or writes. Statements are prepared once
/// per connection (GRDB's statement cache); a script of several statements runs as GRDB runs scripts.
final class SQLiteStoreConnection: StoreConnection {
    let database: Database

    init(_ database: Database) { self.database = database }

    var engine: StoreEngineKind { .sqlite }

    var changesCount: Int { database.changesCount }

    func execute(sql: String, arguments: SQLArguments) throws {
        try translatingErrors {
            if arguments.isEmpty && sql.holdsSeveralStatements {
                try database.execute(sql: sql)
            } else {
                try statement(sql).execute(arguments: Self.statementArguments(arguments))
            }
        }
    }

    /// The prepared statement for `sql`: from the connection's cache, except for long ones. A multi-row insert's text
    /// differs with its row count, and GRDB's cache keeps every statement it prepared for the connection's life: a
    /// gateway's writer, whose batches come in every size up to 500 rows of 18 values, grew its RSS past 480 MB
    /// that way under `bench gateway` (the same gateway on PostgreSQL stayed at 74 MB).
    private func statement(_ sql: String) throws -> Statement {
        sql.utf8.count <= Self.cachedStatementLength ? try database.cachedStatement(sql: sql) : try database.makeStatement(sql: sql)
    }

    /// Statements up to this many bytes are cached; any longer one is prepared for its one use.
    static let cachedStatementLength = 2048

    func append(into table: String, columns: [String], rows: [[SQLValue]]) throws {
        try insertRows(into: table, columns: columns, rows: rows)
    }

    func fetchRows(sql: String, arguments: SQLArguments) throws -> [SQLRow] {
        try translatingErrors {
            let statement = try statement(sql)
            let columns = statement.columnNames
            let cursor = try Row.fetchCursor(statement, arguments: Self.statementArguments(arguments))
            var rows: [SQLRow] = []
            while let row = try cursor.next() {
                rows.append(SQLRow(columns: columns, values: row.databaseValues.map(SQLValue.init)))
            }
            return rows
        }
    }

    static func statementArguments(_ arguments: SQLArguments) -> StatementArguments {
        StatementArguments(arguments.values.map(\.databaseValue))
    }

    /// A constraint SQLite refuses becomes `StoreError.conflict`, as PostgreSQL's does.
    private func translatingErrors<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw StoreError.conflict(SQLiteDatabase.describe(error))
        }
    }
}

extension SQLValue {
    init(_ value: DatabaseValue) {
        switch value.storage {
        case .null: self = .null
        case .int64(let number): self = .integer(number)
        case .double(let number): self = .real(number)
        case .string(let text): self = .text(text)
        case .blob(let data): self = .blob(data)
        }
    }

    var databaseValue: DatabaseValue {
        switch self {
        case .null: .null
        case .integer(let number): number.databaseValue
        case .real(let number): number.databaseValue
        case .text(let text): text.databaseValue
        case .blob(let data): data.databaseValue
        }
    }
}
