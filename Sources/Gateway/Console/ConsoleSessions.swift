import Foundation
import HTTPTypes
import Hummingbird
import Scheduler
import Store

/// The console's sign-in: the admin token, sent once in a JSON body, buys a session cookie (`HttpOnly`,
/// `SameSite=Strict`, `Secure` behind HTTPS, 12 hours). The cookie's value is random and only its SHA-256 is stored,
/// in the database every gateway process shares; each session has a CSRF token the page sends back in
/// `X-CSRF-Token` with every change. The admin token itself is never in a cookie, a URL, a page or a log line.
struct ConsoleSessions: Sendable {
    let db: AppDatabase
    let clock: any WallClock
    static let cookieName = "switchyard_session"
    static let lifetimeMillis: Int64 = 12 * 3_600_000

    struct Issued {
        let cookie: String
        let session: ConsoleSession
    }

    /// A new session and the `Set-Cookie` value that carries it.
    func signIn(secure: Bool) async throws -> Issued {
        let id = randomAlphanumerics(48), csrf = randomAlphanumerics(48)
        let now = clock.nowMillis()
        let expires = now + Self.lifetimeMillis
        try await db.createConsoleSession(idHash: Fingerprint.sha256Hex(id), csrf: csrf, now: now, expiresAt: expires)
        return Issued(cookie: Self.cookie(id, maxAge: Self.lifetimeMillis / 1000, secure: secure),
                      session: ConsoleSession(csrf: csrf, createdAt: now, expiresAt: expires))
    }

    /// The request's session: its cookie names one that has not expired or been signed out.
    func session(of request: Request) async throws -> ConsoleSession? {
        guard let id = Self.cookieValue(request) else { return nil }
        return try await db.consoleSession(idHash: Fingerprint.sha256Hex(id), now: clock.nowMillis())
    }

    /// Ends the request's session everywhere; returns the `Set-Cookie` value that clears it in the browser.
    func signOut(_ request: Request, secure: Bool) async throws -> String {
        if let id = Self.cookieValue(request) { try await db.deleteConsoleSession(idHash: Fingerprint.sha256Hex(id)) }
        return Self.cookie("", maxAge: 0, secure: secure)
    }

    /// Throws 403 unless the request carries the session's CSRF token in `X-CSRF-Token`.
    static func requireCSRF(_ request: Request, for session: ConsoleSession) throws {
        guard let sent = request.headers[csrfHeader], constantTimeEqual(Array(sent.utf8), Array(session.csrf.utf8)) else {
            throw Problem(.forbidden, "missing or wrong X-CSRF-Token for this console session")
        }
    }

    static var csrfHeader: HTTPField.Name { HTTPField.Name("x-csrf-token")! }

    static func cookie(_ value: String, maxAge: Int64, secure: Bool) -> String {
        "\(cookieName)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    /// The session cookie's value from the `Cookie` header(s), if any.
    static func cookieValue(_ request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for part in header.split(separator: ";") {
                let pair = part.trimmingCharacters(in: .whitespaces)
                if pair.hasPrefix(cookieName + "=") {
                    let value = String(pair.dropFirst(cookieName.count + 1))
                    return value.isEmpty ? nil : value
                }
            }
        }
        return nil
    }

    /// Whether the browser reached us over HTTPS, as a TLS-terminating proxy in front says (`X-Forwarded-Proto`):
    /// the cookie is then marked `Secure`. Believing the header can only make the cookie stricter.
    static func isSecure(_ request: Request) -> Bool {
        request.headers[HTTPField.Name("x-forwarded-proto")!]?.lowercased() == "https"
    }
}
