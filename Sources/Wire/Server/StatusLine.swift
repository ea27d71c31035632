import HTTPTypes
import NIOHTTP1

/// `HTTP/1.1 <code> <reason>` with the standard reason phrase, built once per code: the direct server writes one
/// per answer, and answers relayed from an upstream carry a status made from its code alone (no phrase).
enum StatusLine {
    /// The status line of `code`, or nil for a code with no standard phrase (the caller writes its own).
    static func standard(_ code: Int) -> String? {
        code >= 100 && code < 600 ? lines[code - 100] : nil
    }

    /// RFC 9110's phrases as swift-http-types names them; the codes it leaves out (402, 418, 507, …) from NIO's table.
    private static let lines: [String?] = {
        var phrases = [String?](repeating: nil, count: 500)
        for code in 100..<600 {
            let phrase = HTTPResponseStatus(statusCode: code).reasonPhrase
            if !phrase.isEmpty { phrases[code - 100] = phrase }
        }
        for status in rfc9110 { phrases[status.code - 100] = status.reasonPhrase }
        return phrases.enumerated().map { index, phrase in phrase.map { "HTTP/1.1 \(index + 100) \($0)" } }
    }()

    private static let rfc9110: [HTTPResponse.Status] = [
        .continue, .switchingProtocols, .earlyHints,
        .ok, .created, .accepted, .nonAuthoritativeInformation, .noContent, .resetContent, .partialContent,
        .multipleChoices, .movedPermanently, .found, .seeOther, .notModified, .temporaryRedirect, .permanentRedirect,
        .badRequest, .unauthorized, .forbidden, .notFound, .methodNotAllowed, .notAcceptable, .proxyAuthenticationRequired,
        .requestTimeout, .conflict, .gone, .lengthRequired, .preconditionFailed, .contentTooLarge, .uriTooLong,
        .unsupportedMediaType, .rangeNotSatisfiable, .expectationFailed, .misdirectedRequest, .unprocessableContent,
        .tooEarly, .upgradeRequired, .preconditionRequired, .tooManyRequests, .requestHeaderFieldsTooLarge,
        .unavailableForLegalReasons,
        .internalServerError, .notImplemented, .badGateway, .serviceUnavailable, .gatewayTimeout, .httpVersionNotSupported,
        .networkAuthenticationRequired,
    ]
}
