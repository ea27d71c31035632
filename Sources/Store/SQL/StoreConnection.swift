/// Which engine a connection speaks to, for the few statements whose SQL differs between them.
public enum StoreEngineKind: String, Sendable {
    case sqlite
    case postgresql

    /// The rows of a multi-row `INSERT INTO t (columns) <rows>`, each row's values in column order: `VALUES (?, …), …`
    /// on SQLite; on PostgreSQL one array per column, unnested (`SELECT * FROM unnest(CAST(? AS int8[]), …)`), so the
    /// server parses one parameter per column instead of one per value: about half its CPU per row for 600 trace rows
    /// (12 µs against 20–28 µs, measured on this machine). `types` are the columns' PostgreSQL types, any whose text
    /// input reads the values (`int8`, `int4`, `text`, `jsonb`, `bool` from 0 and 1); a blob must come as `\x…` hex
    /// text for `bytea`.
    public func rows(_ rows: [[SQLValue]], types: [String]) -> (sql: String, arguments: SQLArguments) {
        switch self {
        case .sqlite:
            return ("VALUES " + sqlPlaceholders(rows: rows.count, columns: types.count), SQLArguments(values: rows.flatMap { $0 }))
        case .postgresql:
            let casts = types.map { "CAST(? AS \($0)[])" }.joined(separator: ", ")
            let arrays = types.indices.map { column in SQLValue.text(Self.arrayLiteral(rows.lazy.map { $0[column] })) }
            return ("SELECT * FROM unnest(\(casts))", SQLArguments(values: arrays))
        }
    }

    /// A PostgreSQL array in its text form: `{1,NULL,"a \"b"}` for 1, null and `a "b`.
    static func arrayLiteral(_ values: some Sequence<SQLValue>) -> String {
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        var first = true
        for value in values {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            switch value {
            case .null: bytes += "NULL".utf8
            case .integer(let number): bytes += String(number).utf8
            case .real(let number): bytes += "\(number)".utf8
            case .text(let text):
                bytes.append(UInt8(ascii: "\""))
                for byte in text.utf8 {
                    if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { bytes.append(UInt8(ascii: "\\")) }
                    bytes.append(byte)
                }
                bytes.append(UInt8(ascii: "\""))
            case .blob: preconditionFailure("blobs are not sent as array text")
            }
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A subquery of the integers in a JSON array bound as its one parameter: `id IN (\(idsFromJSON))`.
    public var idsFromJSON: String {
        switch self {
        case .sqlite: "SELECT value FROM json_each(?)"
        case .postgresql: "SELECT CAST(value AS BIGINT) FROM jsonb_array_elements_text(CAST(? AS jsonb))"
        }
    }

    /// The UTC day (`YYYY-MM-DD`) of a column holding milliseconds since the epoch.
    public func utcDay(ofMillis column: String) -> String {
        switch self {
        case .sqlite: "date(\(column) / 1000, 'unixepoch')"
        case .postgresql: "to_char(to_timestamp(\(column) / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        }
    }
}

/// A connection inside a transaction of the store's engine. The store's code is written once against it, in the
/// SQL both engines accept (`?` placeholders, `RETURNING`, `ON CONFLICT … DO`, `CAST(? AS BIGINT)` where a bare
/// parameter's type must be known), with `engine` for the rare statement that must differ.
///
/// Calls are synchronous, as GRDB's transactions are: on SQLite they run on GRDB's writer or reader thread, on
/// PostgreSQL on a thread of the store's own pool that waits for each statement's answer. A constraint the
/// database refuses surfaces as `StoreError.conflict`, other failures as `StoreError.database`, on both engines.
public protocol StoreConnection: AnyObject {
    var engine: StoreEngineKind { get }

    /// How many rows the last `execute` changed.
    var changesCount: Int { get }

    /// Runs one statement (or, without arguments, several separated by `;`).
    func execute(sql: String, arguments: SQLArguments) throws

    /// Runs a query and returns its rows.
    func fetchRows(sql: String, arguments: SQLArguments) throws -> [SQLRow]

    /// Adds rows to a table (each row's values in `columns` order) by the engine's fastest bulk path: `COPY … FROM
    /// STDIN` on PostgreSQL, multi-row `INSERT`s on SQLite. Nothing is skipped: a row a constraint refuses fails the
    /// whole call (and, on PostgreSQL, the transaction), so it is for rows known to be new.
    func append(into table: String, columns: [String], rows: [[SQLValue]]) throws
}

extension StoreConnection {
    public func execute(sql: String) throws { try execute(sql: sql, arguments: []) }

    /// Multi-row `INSERT INTO table (columns) VALUES …`, each row's values in `columns` order: at most 500 rows and
    /// 32,000 bound values a statement (SQLite's limit is 32,766), `suffix` after each (an `ON CONFLICT …` clause).
    func insertRows(into table: String, columns: [String], rows: [[SQLValue]], suffix: String = "") throws {
        let perStatement = max(1, min(500, 32_000 / max(1, columns.count)))
        for start in stride(from: 0, to: rows.count, by: perStatement) {
            let chunk = rows[start..<min(rows.count, start + perStatement)]
            try execute(sql: "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES "
                            + sqlPlaceholders(rows: chunk.count, columns: columns.count) + suffix,
                        arguments: SQLArguments(values: chunk.flatMap { $0 }))
        }
    }
}

extension SQLRow {
    public static func fetchAll(_ db: any StoreConnection, sql: String, arguments: SQLArguments = []) throws -> [SQLRow] {
        try db.fetchRows(sql: sql, arguments: arguments)
    }

    public static func fetchOne(_ db: any StoreConnection, sql: String, arguments: SQLArguments = []) throws -> SQLRow? {
        try db.fetchRows(sql: sql, arguments: arguments).first
    }
}

extension SQLValueConvertible {
    /// The first column of the first row; nil when there is no row or it holds NULL.
    public static func fetchOne(_ db: any StoreConnection, sql: String, arguments: SQLArguments = []) throws -> Self? {
        guard let row = try db.fetchRows(sql: sql, arguments: arguments).first, let first = row.values.first,
              first != .null else { return nil }
        return try row.get(0, as: Self.self)
    }

    /// The first column of every row (NULLs skipped).
    public static func fetchAll(_ db: any StoreConnection, sql: String, arguments: SQLArguments = []) throws -> [Self] {
        try db.fetchRows(sql: sql, arguments: arguments).compactMap { row in
            row.values.first == .null ? nil : try row.get(0, as: Self.self)
        }
    }
}

extension String {
    /// Whether this SQL holds more than one statement (a `;` before the trailing one): such a script runs without
    /// arguments, by each engine's own way of running scripts.
    var holdsSeveralStatements: Bool {
        guard let last = lastIndex(where: { !$0.isWhitespace && $0 != ";" }) else { return false }
        return self[..<last].contains(";")
    }
}
