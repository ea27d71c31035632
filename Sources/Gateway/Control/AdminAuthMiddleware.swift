import Hummingbird

/// Requires `Authorization: Bearer <admin token>`; 401 problem JSON otherwise.
struct AdminAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: [UInt8]

    init(token: String) { self.token = Array(token.utf8) }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw Problem(.unauthorized, "missing bearer token")
        }
        guard constantTimeEqual(Array(header.dropFirst(7).utf8), token) else {
            throw Problem(.unauthorized, "invalid admin token")
        }
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
