import Hummingbird

/// Caps `/api` request bodies at `--max-body-bytes`: a larger body answers 413 problem JSON before any handler
/// decodes it. Without it a handler decoding JSON read the body the direct server had cut at the limit and
/// answered 400 "not valid JSON" (and, on Hummingbird's own server, accepted bodies up to the context's 64 MiB).
struct BodyLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    let maxBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var request = request
        do {
            _ = try await request.collectBody(upTo: maxBytes)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw Problem(.contentTooLarge, "request body is larger than \(maxBytes) bytes")
        }
        return try await next(request, context)
    }
}
