import Hummingbird
import HTTPTypes

/// Requires `Authorization: Bearer <admin token>`, or the console's session cookie; a change made with the cookie
/// must also carry the session's `X-CSRF-Token`. 401 (403 for a missing or wrong CSRF token) problem JSON otherwise.
struct AdminAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: [UInt8]
    let sessions: ConsoleSessions?

    init(token: String, sessions: ConsoleSessions? = nil) {
        self.token = Array(token.utf8)
        self.sessions = sessions
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let header = request.headers[.authorization] {
            guard header.hasPrefix("Bearer ") else { throw Problem(.unauthorized, "missing bearer token") }
            guard constantTimeEqual(Array(header.dropFirst(7).utf8), token) else {
                throw Problem(.unauthorized, "invalid admin token")
            }
            return try await next(request, context)
        }
        guard let sessions, ConsoleSessions.cookieValue(request) != nil else { throw Problem(.unauthorized, "missing bearer token") }
        guard let session = try await sessions.session(of: request) else {
            throw Problem(.unauthorized, "the console session has expired or was signed out; sign in again")
        }
        if ![.get, .head, .options].contains(request.method) { try ConsoleSessions.requireCSRF(request, for: session) }
        return try await next(request, context)
    }
}

/// Compares without an early exit, so timing tells nothing about a token.
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for index in a.indices { difference |= a[index] ^ b[index] }
    return difference == 0
}
