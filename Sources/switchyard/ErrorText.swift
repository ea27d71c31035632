import Foundation

/// URL checks and wording for the command line's messages (network errors are `ConnectionErrorText`'s).
enum ErrorText {
    /// `url` without any user or password it may carry, fit for an error message.
    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.user != nil || components.password != nil else { return url }
        components.user = nil
        components.password = nil
        return components.string ?? url
    }

    /// Checks that `url` is an absolute http(s) URL with a host; returns a usage message when it is not.
    static func serverURLProblem(_ url: String, flag: String = "--server") -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty else {
            return "\(flag) must be an http:// or https:// URL with a host, e.g. http://127.0.0.1:8080 (got \(redacted(url)))"
        }
        return nil
    }
}
