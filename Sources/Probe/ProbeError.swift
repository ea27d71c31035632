/// Errors of the probe module. Messages never carry keys.
public struct ProbeError: Error, CustomStringConvertible, Sendable {
    public let message: String

    public init(message: String) { self.message = message }
    public var description: String { message }

    public static func invalidURL(_ url: String) -> Self { .init(message: "invalid upstream URL: \(url)") }
}
