import Foundation

/// A signed-in console session as stored: the cookie's value is never stored, only its SHA-256.
public struct ConsoleSession: Sendable, Equatable {
    /// Sent back by the page in `X-CSRF-Token` on every change it asks for.
    public let csrf: String
    public let createdAt: Int64
    public let expiresAt: Int64

    public init(csrf: String, createdAt: Int64, expiresAt: Int64) {
        self.csrf = csrf
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

extension AppDatabase {
    /// Stores a new session; sessions already expired are deleted on the way.
    public func createConsoleSession(idHash: String, csrf: String, now: Int64, expiresAt: Int64) async throws {
        try await write(isolation: .readCommitted) { db in
            try db.execute(sql: "DELETE FROM console_sessions WHERE expires_at <= ?", arguments: [now])
            try db.execute(sql: "INSERT INTO console_sessions (id_hash, csrf, created_at, expires_at) VALUES (?, ?, ?, ?)",
                           arguments: [idHash, csrf, now, expiresAt])
        }
    }

    /// The session whose cookie hashes to `idHash`, unless it expired by `now`.
    public func consoleSession(idHash: String, now: Int64) async throws -> ConsoleSession? {
        try await read { db in
            try SQLRow.fetchOne(db, sql: "SELECT csrf, created_at, expires_at FROM console_sessions WHERE id_hash = ? AND expires_at > ?",
                                arguments: [idHash, now]).map { row in
                ConsoleSession(csrf: try row["csrf"], createdAt: try row["created_at"], expiresAt: try row["expires_at"])
            }
        }
    }

    /// Ends a session (sign-out): on every process at once, since each reads sessions from here.
    public func deleteConsoleSession(idHash: String) async throws {
        try await write(isolation: .readCommitted) { db in
            try db.execute(sql: "DELETE FROM console_sessions WHERE id_hash = ?", arguments: [idHash])
        }
    }
}
