import Foundation
import PostgresNIO

/// A parsed `postgres://user:password@host:port/database?sslmode=…` URL (`--database-url`).
///
/// The password is kept for connecting and never shown: `description`, `debugDescription`, `dump` and every
/// `DatabaseURLError` leave it out, so the URL can be logged, printed in an error or returned by `/api` as it is.
public struct DatabaseURL: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// libpq's `sslmode` values. `allow` is taken as `prefer` (PostgresNIO tries TLS first, never plain first).
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public let user: String
    /// For connecting only; never printed.
    public let password: String?
    public let host: String
    public let port: Int
    public let database: String
    public let sslMode: SSLMode
    /// `sslrootcert`: a PEM file of trusted roots for `verify-ca` / `verify-full` (the system's roots without it).
    public let sslRootCert: String?

    /// Parses a `postgres://` or `postgresql://` URL. Percent-encoded user, password and database are decoded.
    public init(_ text: String) throws(DatabaseURLError) {
        guard let schemeEnd = text.range(of: "://"),
              ["postgres", "postgresql"].contains(text[..<schemeEnd.lowerBound].lowercased()) else {
            throw .init("the scheme must be postgres:// or postgresql://")
        }
        var rest = Substring(text[schemeEnd.upperBound...])
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        // The authority ends at the first "/" or "?" after the last "@" (a password must percent-encode them,
        // as RFC 3986 and libpq require; the search from the "@" keeps an unencoded one out of host and port).
        let userInfoEnd = rest.lastIndex(of: "@")
        let hostStart = userInfoEnd.map { rest.index(after: $0) } ?? rest.startIndex
        let authorityEnd = rest[hostStart...].firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let userInfo = userInfoEnd.map { rest[rest.startIndex..<$0] }
        let hostPort = rest[hostStart..<authorityEnd]
        var pathAndQuery = rest[authorityEnd...]

        guard let userInfo, !userInfo.isEmpty else { throw .init("a user name is required (postgres://user:password@host/db)") }
        if let colon = userInfo.firstIndex(of: ":") {
            user = try Self.decode(userInfo[..<colon], "the user name")
            password = try Self.decode(userInfo[userInfo.index(after: colon)...], "the password")
        } else {
            user = try Self.decode(userInfo, "the user name")
            password = nil
        }
        guard !user.isEmpty else { throw .init("a user name is required (postgres://user:password@host/db)") }

        (host, port) = try Self.hostAndPort(hostPort)

        var query = Substring("")
        if let question = pathAndQuery.firstIndex(of: "?") {
            query = pathAndQuery[pathAndQuery.index(after: question)...]
            pathAndQuery = pathAndQuery[..<question]
        }
        let path = pathAndQuery.drop { $0 == "/" }
        guard !path.isEmpty, !path.contains("/") else { throw .init("the database name is missing (…@host:port/database)") }
        database = try Self.decode(path, "the database name")

        var sslMode = SSLMode.prefer
        var sslRootCert: String?
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0]).removingPercentEncoding ?? ""
            let value = parts.count > 1 ? (String(parts[1]).removingPercentEncoding ?? "") : ""
            switch name {
            case "sslmode":
                guard let mode = SSLMode(rawValue: value) else {
                    throw .init("sslmode must be one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                sslMode = mode
            case "sslrootcert":
                sslRootCert = value
            default:
                // The name is not echoed: with an unencoded "?" in a password, it would be part of the password.
                throw .init("an unsupported query parameter (supported: sslmode, sslrootcert)")
            }
        }
        self.sslMode = sslMode
        self.sslRootCert = sslRootCert
    }

    /// The URL with the password masked: safe for logs, errors and `/api`.
    public var description: String {
        let credentials = Self.encode(user) + (password == nil ? "" : ":***")
        let hostText = host.contains(":") ? "[\(host)]" : host
        var text = "postgres://\(credentials)@\(hostText):\(port)/\(Self.encode(database))?sslmode=\(sslMode.rawValue)"
        if let sslRootCert { text += "&sslrootcert=\(sslRootCert)" }
        return text
    }

    public var debugDescription: String { "DatabaseURL(\(description))" }

    /// Reflection (`dump`, `String(reflecting:)` of a containing value) shows the masked URL, not the password.
    public var customMirror: Mirror { Mirror(self, children: ["url": description], displayStyle: .struct) }

    /// The PostgresNIO client configuration this URL selects.
    public func clientConfiguration() throws(DatabaseURLError) -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS = switch tlsMode() {
        case .none: .disable
        case .prefer(let configuration): .prefer(configuration)
        case .require(let configuration): .require(configuration)
        }
        return PostgresClient.Configuration(host: host, port: port, username: user, password: password,
                                            database: database, tls: tls)
    }

    /// The configuration of one connection outside the pool (the reachability check at start).
    public func connectionConfiguration() throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS = switch tlsMode() {
        case .none: .disable
        case .prefer(let configuration): .prefer(try NIOSSLContext(configuration: configuration))
        case .require(let configuration): .require(try NIOSSLContext(configuration: configuration))
        }
        return PostgresConnection.Configuration(host: host, port: port, username: user, password: password,
                                                database: database, tls: tls)
    }

    private enum TLSMode {
        case none
        case prefer(TLSConfiguration)
        case require(TLSConfiguration)
    }

    /// What `sslmode` (and `sslrootcert`) ask of the connection, as libpq reads them.
    private func tlsMode() -> TLSMode {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let sslRootCert { configuration.trustRoots = .file(sslRootCert) }
        switch sslMode {
        case .disable:
            return .none
        case .allow, .prefer, .require:
            // libpq encrypts in these modes without checking the certificate.
            configuration.certificateVerification = .none
            return sslMode == .require ? .require(configuration) : .prefer(configuration)
        case .verifyCA:
            configuration.certificateVerification = .noHostnameVerification
            return .require(configuration)
        case .verifyFull:
            configuration.certificateVerification = .fullVerification
            return .require(configuration)
        }
    }

    /// Where the database is, for messages: host, port and database name, without user or password.
    public var location: String {
        "\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)"
    }

    private static func decode(_ text: Substring, _ what: String) throws(DatabaseURLError) -> String {
        guard let decoded = String(text).removingPercentEncoding else {
            throw .init("\(what) has an invalid percent-encoding")
        }
        return decoded
    }

    private static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    private static func hostAndPort(_ text: Substring) throws(DatabaseURLError) -> (String, Int) {
        var host: Substring
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw .init("an IPv6 host is missing its closing ]") }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty {
                throw .init("unexpected text after the IPv6 host")
            }
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        } else {
            host = text
        }
        guard !host.isEmpty else { throw .init("the host is missing (postgres://user:password@host:port/db)") }
        guard let portText else { return (String(host), 5432) }
        // The port's text is not echoed: a malformed URL can put part of the password there.
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw .init("the port must be a number from 1 to 65535")
        }
        return (String(host), port)
    }
}

/// A `--database-url` that cannot be used. Says what is wrong, never the URL's password (nor any part of the URL
/// that a malformed password could have ended up in).
public struct DatabaseURLError: Error, Equatable, CustomStringConvertible, Sendable {
    public let reason: String

    init(_ reason: String) { self.reason = reason }

    public var description: String { "invalid database URL: \(reason)" }
}
