/// Errors of the probe module (filled by the batch-import issue). Messages never carry keys.
public struct ProbeError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }

    public static func invalidURL(_ url: String) -> Self { .init(message: "invalid upstream URL: \(url)") }
}
