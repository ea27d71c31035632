import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The two client protocols the data plane speaks.
enum ClientProtocol: Sendable { case openai, anthropic }

/// An error of the data plane, rendered in the caller's protocol. Messages never carry keys.
struct RelayError: Error, Sendable, CustomStringConvertible {
    let status: HTTPResponse.Status
    let message: String
    /// Seconds for `retry-after`, when the caller should come back later.
    var retryAfter: Int?
    /// OpenAI's `code` when the status alone does not say what went wrong (a 404 is an unknown model unless this
    /// says otherwise).
    var code: String?

    var description: String { "\(status.code) \(message)" }

    static func badRequest(_ message: String) -> RelayError { .init(status: .badRequest, message: message) }
    static func unauthorized(_ message: String) -> RelayError { .init(status: .unauthorized, message: message) }
    static func forbidden(_ message: String) -> RelayError { .init(status: .forbidden, message: message) }
    static func notFound(_ message: String) -> RelayError { .init(status: .notFound, message: message) }
    /// A path (or method) the data plane does not serve, worded as OpenAI words it: `Invalid URL (POST /v1/foo)`.
    static func unknownEndpoint(_ method: HTTPRequest.Method, _ path: String) -> RelayError {
        .init(status: .notFound, message: "Invalid URL (\(method.rawValue) \(path.prefix(256)))", code: "unknown_url")
    }
    static func tooLarge(_ message: String) -> RelayError { .init(status: .contentTooLarge, message: message) }
    static func quota(_ message: String) -> RelayError { .init(status: .tooManyRequests, message: message) }
    static func badGateway(_ message: String) -> RelayError { .init(status: .badGateway, message: message) }
    static func unavailable(_ message: String) -> RelayError { .init(status: .serviceUnavailable, message: message) }

    static func from(_ error: any Error) -> RelayError {
        switch error {
        case let error as RelayError: return error
        case let error as HTTPError where error.status == .contentTooLarge: return .tooLarge("request body too large")
        case let error as HTTPError: return RelayError(status: error.status, message: error.body ?? error.status.reasonPhrase)
        case let error as any HTTPResponseError where error.status == .contentTooLarge: return .tooLarge("request body too large")
        default: return RelayError(status: .internalServerError, message: "internal error")
        }
    }

    func response(protocol proto: ClientProtocol) -> Response {
        let body: [String: Any]
        switch proto {
        case .openai:
            body = ["error": ["message": message, "type": openAIType, "code": openAICode as Any, "param": NSNull()]]
        case .anthropic:
            body = ["type": "error", "error": ["type": anthropicType, "message": message]]
        }
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    private var openAIType: String {
        switch status.code {
        case 401: "invalid_request_error"
        case 403: "permission_error"
        case 404: "invalid_request_error"
        case 429: "insufficient_quota"
        case 500...: "server_error"
        default: "invalid_request_error"
        }
    }

    private var openAICode: String? {
        if let code { return code }
        return switch status.code {
        case 401: "invalid_api_key"
        case 404: "model_not_found"
        case 413: "request_too_large"
        case 429: "insufficient_quota"
        default: nil
        }
    }

    private var anthropicType: String {
        switch status.code {
        case 401: "authentication_error"
        case 403: "permission_error"
        case 404: "not_found_error"
        case 413: "request_too_large"
        case 429: "rate_limit_error"
        case 503: "overloaded_error"
        case 500...: "api_error"
        default: "invalid_request_error"
        }
    }
}
