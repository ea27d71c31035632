import Foundation

/// The control plane's bearer token: from the environment, or generated once into `<data-dir>/admin-token` (0600).
public struct AdminToken: Sendable {
    public let value: String
    /// Where it was read from or written to; nil when it came from the environment.
    public let path: String?
    public let generated: Bool

    /// Loads or creates the token.
    public static func load(environment: String?, dataDir: String) throws -> AdminToken {
        if let environment, !environment.isEmpty { return AdminToken(value: environment, path: nil, generated: false) }
        let path = dataDir + "/admin-token"
        let (text, generated) = try PrivateFile.readOrCreate(path) {
            var bytes = [UInt8](repeating: 0, count: 32)
            for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
            return "sya_" + bytes.map { String(format: "%02x", $0) }.joined() + "\n"
        }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { throw StoreError.dataDir("\(path) is empty: delete it to have a new token generated") }
        return AdminToken(value: token, path: path, generated: generated)
    }
}
