import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix

/// One-line wording for errors that reach the command line from the network stack, whose own descriptions
/// name system calls and errno values ("connection reset (error set): Connection refused (errno: 111)").
enum ErrorText {
    /// What went wrong, in a few lower-case words: "connection refused", "address already in use".
    static func describe(_ error: any Error) -> String {
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

    /// `url` without any user or password it may carry, fit for an error message.
    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.user != nil || components.password != nil else { return url }
        components.user = nil
        components.password = nil
        return components.string ?? url
    }

    /// Checks that `url` is an absolute http(s) URL with a host; returns a usage message when it is not.
    static func serverURLProblem(_ url: String, flag: String = "--server") -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty else {
            return "\(flag) must be an http:// or https:// URL with a host, e.g. http://127.0.0.1:8080 (got \(redacted(url)))"
        }
        return nil
    }
}
