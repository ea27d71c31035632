import Dispatch
import Foundation
import Logging
import NIOCore
import PostgresNIO
import Scheduler
import Synchronization

/// `StoreConnection` on PostgreSQL: one pooled connection inside a transaction, driven from a thread of the
/// store's own pool (`PostgresStore`) that waits for each statement's answer, so the store's synchronous code runs
/// unchanged. `?` placeholders become `$1…$n` (`?NNN` becomes `$NNN`); values are bound with their own types
/// (`BIGINT`, `DOUBLE PRECISION`, `TEXT`, `BYTEA`), NULL untyped.
final class PostgresStoreConnection: StoreConnection {
    let connection: PostgresConnection
    let logger: Logger
    private(set) var changesCount = 0

    init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    var engine: StoreEngineKind { .postgresql }

    func execute(sql: String, arguments: SQLArguments) throws {
        if arguments.isEmpty && sql.holdsSeveralStatements {
            // Several statements in one string only go through the simple protocol.
            _ = try Self.translatingErrors { try answer(connection.simpleQuery(sql)) }
            changesCount = 0
            return
        }
        let result = try run(sql, arguments)
        changesCount = result.metadata.rows ?? 0
    }

    func fetchRows(sql: String, arguments: SQLArguments) throws -> [SQLRow] {
        let result = try run(sql, arguments)
        changesCount = result.metadata.rows ?? 0
        return try result.rows.map(Self.row)
    }

    /// `COPY table (columns) FROM STDIN` in text format, the rows sent as one buffer: about half the server's CPU per
    /// row of a multi-row `INSERT` through `unnest` (7 against 12 µs per trace row, measured with psql here).
    func append(into table: String, columns: [String], rows: [[SQLValue]]) throws {
        guard !rows.isEmpty else { return }
        let data = Self.copyText(rows)
        let connection = connection, logger = logger
        try Self.translatingErrors {
            try answer(connection.eventLoop.makeFutureWithTask {
                try await connection.copyFrom(table: table, columns: columns, logger: logger) { try await $0.write(data) }
            })
        }
        changesCount = rows.count
    }

    /// Rows in `COPY`'s text format: values split by tabs, rows ended by newlines, `\N` for NULL; a backslash,
    /// tab, newline or carriage return inside a text escaped by a backslash; a blob as `bytea`'s `\x…` hex.
    static func copyText(_ rows: [[SQLValue]]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(rows.count * 64)
        let backslash = UInt8(ascii: "\\"), hex = Array("0123456789abcdef".utf8)
        for row in rows {
            for (index, value) in row.enumerated() {
                if index > 0 { buffer.writeInteger(UInt8(ascii: "\t")) }
                switch value {
                case .null: buffer.writeBytes([backslash, UInt8(ascii: "N")])
                case .integer(let number): buffer.writeString(String(number))
                case .real(let number): buffer.writeString("\(number)")
                case .text(let text):
                    for byte in text.utf8 {
                        switch byte {
                        case backslash: buffer.writeBytes([backslash, backslash])
                        case UInt8(ascii: "\t"): buffer.writeBytes([backslash, UInt8(ascii: "t")])
                        case UInt8(ascii: "\n"): buffer.writeBytes([backslash, UInt8(ascii: "n")])
                        case UInt8(ascii: "\r"): buffer.writeBytes([backslash, UInt8(ascii: "r")])
                        default: buffer.writeInteger(byte)
                        }
                    }
                case .blob(let data):
                    buffer.writeBytes([backslash, backslash, UInt8(ascii: "x")])
                    for byte in data { buffer.writeBytes([hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]) }
                }
            }
            buffer.writeInteger(UInt8(ascii: "\n"))
        }
        return buffer
    }

    private func run(_ sql: String, _ arguments: SQLArguments) throws -> PostgresQueryResult {
        var bindings = PostgresBindings(capacity: arguments.values.count)
        for value in arguments.values {
            switch value {
            case .null: bindings.appendNull()
            case .integer(let number): bindings.append(number)
            case .real(let number): bindings.append(number)
            case .text(let text): bindings.append(text)
            case .blob(let data): bindings.append(ByteBuffer(bytes: data))
            }
        }
        let query = PostgresQuery(unsafeSQL: Self.numberedPlaceholders(sql), binds: bindings)
        return try Self.translatingErrors { try answer(connection.query(query, logger: logger)) }
    }

    /// How long one statement may go unanswered before its connection is given up: a connection the server dropped
    /// without the socket saying so (a restart, a failover) would otherwise hold the transaction, and its caller,
    /// for good.
    static let statementLimit: DispatchTimeInterval = .seconds(30)

    /// The future's value, waited for on this (non-event-loop) thread for at most `statementLimit`; past it the
    /// connection is closed, so the pool replaces it.
    private func answer<T: Sendable>(_ future: EventLoopFuture<T>) throws -> T {
        let done = DispatchSemaphore(value: 0)
        let outcome = OutcomeBox<T>()
        future.whenComplete { result in
            outcome.set(result)
            done.signal()
        }
        guard done.wait(timeout: .now() + Self.statementLimit) == .success, let result = outcome.get() else {
            _ = connection.close() as EventLoopFuture<Void>
            throw StoreError.database("PostgreSQL gave no answer within 30 s; the connection was closed")
        }
        return try result.get()
    }

    /// A row's cells as the storage classes the store reads: integers of any width and booleans as integers,
    /// floating point as reals, `NUMERIC` (what `sum(BIGINT)` returns) as an integer when it is whole.
    static func row(_ row: PostgresRow) throws -> SQLRow {
        var columns: [String] = []
        var values: [SQLValue] = []
        for cell in row {
            columns.append(cell.columnName)
            values.append(try value(cell))
        }
        return SQLRow(columns: columns, values: values)
    }

    private static func value(_ cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8, .oid: return .integer(try cell.decode(Int64.self))
        case .bool: return .integer(try cell.decode(Bool.self) ? 1 : 0)
        case .float4, .float8: return .real(try cell.decode(Double.self))
        case .numeric:
            let number = try cell.decode(Decimal.self)
            let whole = NSDecimalNumber(decimal: number)
            if number == Decimal(whole.int64Value) { return .integer(whole.int64Value) }
            return .real(whole.doubleValue)
        case .bytea: return .blob(try cell.decode(Data.self))
        default: return .text(try cell.decode(String.self))
        }
    }

    /// `?` → `$1`, `$2`, … in order; `?NNN` → `$NNN`; placeholders inside quotes and comments are left alone.
    static func numberedPlaceholders(_ sql: String) -> String {
        var out = ""
        out.reserveCapacity(sql.utf8.count + 16)
        var next = 1
        var chars = Array(sql)[...]
        while let c = chars.popFirst() {
            switch c {
            case "'", "\"":
                out.append(c)
                while let d = chars.popFirst() {
                    out.append(d)
                    if d == c { break }
                }
            case "-" where chars.first == "-":
                out.append(c)
                while let d = chars.popFirst() {
                    out.append(d)
                    if d == "\n" { break }
                }
            case "?":
                let digits = chars.prefix { $0.isASCII && $0.isNumber }
                if digits.isEmpty {
                    out += "$\(next)"
                    next += 1
                } else {
                    out += "$" + String(digits)
                    chars = chars.dropFirst(digits.count)
                }
            default:
                out.append(c)
            }
        }
        return out
    }

    /// The same errors as on SQLite: a refused constraint is a conflict; the rest keep PostgreSQL's message and
    /// SQLSTATE (never bound values), and serialization failures stay recognisable for a retry.
    static func translatingErrors<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as PSQLError {
            let state = error.serverInfo?[.sqlState] ?? ""
            if state.hasPrefix("23") { throw StoreError.conflict(PostgresErrorText.describe(error)) }
            if Self.retryableStates.contains(state) { throw PostgresRetryable(state: state) }
            throw StoreError.database(PostgresErrorText.describe(error))
        }
    }

    /// Serialization failure and deadlock: the transaction is run again from the start.
    static let retryableStates: Set<String> = ["40001", "40P01"]
}

/// A statement's result, handed from the event loop to the waiting thread.
private final class OutcomeBox<T: Sendable>: Sendable {
    private let value = Mutex<Result<T, any Error>?>(nil)
    func set(_ result: Result<T, any Error>) { value.withLock { $0 = result } }
    func get() -> Result<T, any Error>? { value.withLock { $0 } }
}

/// A transaction PostgreSQL rolled back to keep transactions serializable (or to break a deadlock): running it again
/// is the remedy.
struct PostgresRetryable: Error, CustomStringConvertible {
    let state: String
    var description: String { "PostgreSQL could not serialize the transaction (SQLSTATE \(state))" }
}
