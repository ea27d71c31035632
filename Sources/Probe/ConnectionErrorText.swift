import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix

/// One-line wording for errors from the network stack, whose own descriptions name system calls and errno values
/// ("connection reset (error set): Connection refused (errno: 111)"): the command line's errors and a node check's
/// `last_error` say the same thing the same way.
public enum ConnectionErrorText {
    /// What went wrong, in a few lower-case words: "connection refused", "address already in use".
    public static func describe(_ error: any Error) -> String {
        switch error {
        case let io as IOError:
            return String(cString: strerror(io.errnoCode)).lowercased()
        case let connection as NIOConnectionError:
            if connection.dnsAError != nil || connection.dnsAAAAError != nil { return "cannot resolve \(connection.host)" }
            if let first = connection.connectionErrors.first { return describe(first.error) }
            return "cannot connect"
        case let address as SocketAddressError:
            if case .failedToParseIPString(let text) = address { return "not an IP address: \(text)" }
            return "cannot resolve the host name"
        case let client as HTTPClientError:
            switch client {
            case .connectTimeout: return "connection timed out"
            case .readTimeout, .deadlineExceeded: return "no answer in time"
            case .remoteConnectionClosed: return "the server closed the connection"
            case .invalidURL, .emptyHost, .emptyScheme: return "not a valid URL"
            default: return "\(client)"
            }
        default:
            return "\(error)"
        }
    }

    /// What a failed connect says when it was refused, could not reach the host or its network, or the name does not
    /// resolve (in `describe`'s words); nil for any other error.
    public static func refusal(_ error: any Error) -> String? {
        switch error {
        case let io as IOError:
            return [ECONNREFUSED, EHOSTUNREACH, ENETUNREACH].contains(io.errnoCode) ? describe(io) : nil
        case let connection as NIOConnectionError:
            let reasons = Set(connection.connectionErrors.map { refusal($0.error) })
            if reasons.count == 1, let reason = reasons.first { return reason }
            if connection.connectionErrors.isEmpty && (connection.dnsAError != nil || connection.dnsAAAAError != nil) {
                return describe(connection)
            }
            return nil
        default:
            return nil
        }
    }
}
