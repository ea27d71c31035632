import Foundation
import NIOCore
import NIOPosix
import PostgresNIO

/// Readable text for a PostgresNIO error. `PSQLError`'s own description is deliberately generic; the server's
/// message and SQLSTATE say what went wrong without the connection's credentials or the query's bound values.
public enum PostgresErrorText {
    /// The server's message (with SQLSTATE) when there is one, else the client-side error code.
    public static func describe(_ error: any Error) -> String {
        if let transaction = error as? PostgresTransactionError {
            if let inner = transaction.closureError ?? transaction.commitError ?? transaction.beginError {
                return describe(inner)
            }
            return "transaction failed"
        }
        if let error = error as? PSQLError {
            if let info = error.serverInfo, let message = info[.message] {
                let state = info[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
                return message + state
            }
            if let underlying = error.underlying { return describeConnection(underlying) }
            return "PostgreSQL client error: \(error.code)"
        }
        return "\(error)"
    }

    /// A failed connection in a few words ("Connection refused", "no address for host db"), not NIO's structure dump.
    static func describeConnection(_ error: any Error) -> String {
        if let error = error as? NIOConnectionError {
            if let last = error.connectionErrors.last { return describeConnection(last.error) }
            if error.dnsAError != nil || error.dnsAAAAError != nil { return "no address for host \(error.host)" }
        }
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)) }
        return "\(error)"
    }
}
