import Foundation
import HTTPTypes
import Hummingbird
import Scheduler
import Store

/// An RFC 9457 problem: the error body of every `/api` response.
public struct Problem: HTTPResponseError, Codable, Sendable {
    public var type: String
    public var title: String
    public var status: HTTPResponse.Status
    public var detail: String
    /// Each bad part of the input (e.g. every bad item of an import, by index).
    public var errors: [FieldError]?

    /// One bad part of a request.
    public struct FieldError: Codable, Sendable, Equatable {
        public var index: Int?
        public var field: String
        public var message: String

        public init(index: Int?, field: String, message: String) {
            self.index = index
            self.field = field
            self.message = message
        }
    }

    enum CodingKeys: String, CodingKey { case type, title, status, detail, errors }

    public init(_ status: HTTPResponse.Status, _ detail: String, type: String = "about:blank", errors: [FieldError]? = nil) {
        self.status = status
        self.detail = detail
        self.type = type
        self.title = status.reasonPhrase
        self.errors = errors
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decode(String.self, forKey: .type)
        title = try container.decode(String.self, forKey: .title)
        status = HTTPResponse.Status(code: try container.decode(Int.self, forKey: .status))
        detail = try container.decode(String.self, forKey: .detail)
        errors = try container.decodeIfPresent([FieldError].self, forKey: .errors)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        try container.encode(title, forKey: .title)
        try container.encode(status.code, forKey: .status)
        try container.encode(detail, forKey: .detail)
        try container.encodeIfPresent(errors, forKey: .errors)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try JSONEncoder.sortedKeys.encode(self)
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Maps any error from below the HTTP edge to a problem with the right status.
    public static func from(_ error: any Error) -> Problem {
        switch error {
        case let problem as Problem:
            return problem
        case let error as StoreError:
            switch error.code {
            case .notFound: return Problem(.notFound, error.message)
            case .conflict: return Problem(.conflict, error.message)
            case .inUse: return Problem(.conflict, error.message, type: "in_use")
            case .invalid: return Problem(.unprocessableContent, error.message)
            case .database, .dataDir: return Problem(.serviceUnavailable, error.message)
            }
        case let error as SchedulerError:
            switch error.code {
            case .notFound: return Problem(.notFound, error.message)
            case .conflict: return Problem(.conflict, error.message)
            case .invalidJob: return Problem(.badRequest, error.message)
            case .leaseLost: return Problem(.conflict, error.message)
            case .database: return Problem(.serviceUnavailable, error.message)
            }
        case let error as HTTPError:
            return Problem(error.status, error.body ?? error.status.reasonPhrase)
        case let error as any HTTPResponseError where error.status == .contentTooLarge:
            return Problem(.contentTooLarge, "request body too large")
        case is DecodingError:
            return Problem(.badRequest, "malformed JSON body: \(describe(error as! DecodingError))")
        default:
            return Problem(.internalServerError, "internal error")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .dataCorrupted(let context): return context.debugDescription
        case .keyNotFound(let key, _): return "missing field \(key.stringValue)"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return "wrong type at \(path.isEmpty ? "top level" : path)"
        @unknown default: return "invalid"
        }
    }
}
