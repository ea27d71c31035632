import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Probe
import Synchronization

/// The request context of every route: Hummingbird's core storage plus this request's id.
public struct GatewayContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The id returned in `X-Request-Id` and stored on the trace.
    public let requestId: String
    /// The inbound connection's event loop: upstream connections for this request are placed on it.
    public let eventLoop: any EventLoop

    public init(source: Source) {
        coreContext = .init(source: source)
        requestId = Self.makeRequestId()
        eventLoop = source.channel.eventLoop
    }

    /// Bodies are read by the handlers with their own cap (413 beyond it).
    public var maxUploadSize: Int { 64 << 20 }

    /// `req_` + 20 hex digits: 11 of the wall clock in milliseconds, then 9 of a per-process counter started at a
    /// random point and shuffled. Time-ordered ids make the unique indexes on traces and usage logs grow at their right edge
    /// (a random id dirtied a different index page per request); the counter keeps ids unique within a process,
    /// its random start across processes. Written in place (this runs on every request).
    static func makeRequestId() -> String {
        let millis = UInt64(max(0, Date().timeIntervalSince1970 * 1000))
        let sequence = scramble(requestSequence.wrappingAdd(1, ordering: .relaxed).newValue)
        return String(unsafeUninitializedCapacity: 24) { buffer in
            let digits: StaticString = "0123456789abcdef"
            for (offset, byte) in "req_".utf8.enumerated() { buffer[offset] = byte }
            for nibble in 0..<11 { buffer[4 + nibble] = digits.utf8Start[Int(millis >> (40 - 4 * nibble) & 0xF)] }
            for nibble in 0..<9 { buffer[15 + nibble] = digits.utf8Start[Int(sequence >> (32 - 4 * nibble) & 0xF)] }
            return 24
        }
    }

    private static let requestSequence = Atomic<UInt64>(UInt64.random(in: 0...UInt64.max))

    /// A one-to-one shuffle of the counter's low 36 bits (odd multipliers and an xor-shift are invertible modulo
    /// 2^36), so ids stay unique but do not read as a count of requests served.
    static func scramble(_ counter: UInt64) -> UInt64 {
        let mask: UInt64 = 0xF_FFFF_FFFF
        var x = counter &* 0x9E37_79B9_7F4B & mask
        x ^= x >> 17
        return x &* 0xD6E8_FEB8_6659 & mask
    }
}

extension HTTPField.Name {
    static let xRequestId = HTTPField.Name("X-Request-Id")!
    static let xAPIKey = HTTPField.Name("x-api-key")!
    static let anthropicVersion = HTTPField.Name("anthropic-version")!
    /// Pins a request to one channel; only with the admin token (the import's confirmation step).
    static let xSwitchyardChannel = HTTPField.Name(ChannelPin.header)!
}

/// Puts `X-Request-Id` on every response and turns any error into the caller's protocol:
/// OpenAI error JSON on `/v1`, Anthropic error JSON on `/anthropic`, problem JSON elsewhere.
struct EdgeMiddleware: RouterMiddleware {
    typealias Context = GatewayContext

    func handle(_ request: Request, context: GatewayContext, next: (Request, GatewayContext) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            let path = request.uri.path
            if path.hasPrefix("/v1/") || path == "/v1" {
                response = Self.relayError(error, request).response(protocol: .openai)
            } else if path.hasPrefix("/anthropic/") || path == "/anthropic" {
                response = Self.relayError(error, request).response(protocol: .anthropic)
            } else {
                let problem = Problem.from(error)
                if problem.status == .internalServerError {
                    context.logger.error("request failed", metadata: ["error": "\(error)"])
                }
                response = try problem.response(from: request, context: context)
            }
        }
        response.headers[.xRequestId] = context.requestId
        return response
    }

    /// The data plane's handlers throw `RelayError`s; a bare 404 `HTTPError` is the router finding no route, which
    /// is an unknown endpoint, not an unknown model.
    static func relayError(_ error: any Error, _ request: Request) -> RelayError {
        if let error = error as? HTTPError, error.status == .notFound {
            return .unknownEndpoint(request.method, request.uri.path)
        }
        return RelayError.from(error)
    }
}
