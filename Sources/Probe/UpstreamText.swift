import Foundation

/// Text helpers shared by everything that talks to upstreams: URL joining and key redaction.
public enum UpstreamText {
    /// `base` + `path`, where a trailing `/` or `/v1` on the base (as operators often paste it) is dropped.
    public static func url(_ base: String, _ path: String) -> String {
        var base = base
        while base.hasSuffix("/") { base.removeLast() }
        if base.hasSuffix("/v1") { base.removeLast(3) }
        return base + path
    }

    /// Whether a credential can go into an HTTP header as is: visible ASCII only, so no key can end a header
    /// line early or inject another (the relay's upstream connections skip NIO's per-request header validation).
    public static func isHeaderSafe(_ credential: String) -> Bool {
        !credential.isEmpty && credential.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }

    /// Removes `key`, and anything shaped like a key, from an upstream's message.
    public static func redact(_ text: String, key: String) -> String {
        var text = key.isEmpty ? text : text.replacingOccurrences(of: key, with: "[redacted]")
        text = text.replacingOccurrences(of: #"(sk|key)-[A-Za-z0-9_\-\*\.]{6,}"#, with: "[redacted]", options: .regularExpression)
        return text
    }

    /// The `error.message` (or `message`) of an upstream's JSON error body, shortened.
    public static func errorMessage(_ body: String) -> String? {
        guard let json = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else { return nil }
        if let error = json["error"] as? [String: Any], let message = error["message"] as? String { return String(message.prefix(200)) }
        return (json["message"] as? String).map { String($0.prefix(200)) }
    }
}
