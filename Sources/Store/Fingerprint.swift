import Crypto
import Foundation

/// A secret's public name: the first 4 and last 4 hex digits of its SHA-256, for logs, artifacts and errors.
public enum Fingerprint {
    public static func of(_ secret: String) -> String {
        let hex = sha256Hex(secret)
        return String(hex.prefix(4)) + "…" + String(hex.suffix(4))
    }

    /// The full lowercase hex SHA-256 of a string.
    public static func sha256Hex(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
