import Crypto
import Foundation

/// A secret's public name: the first 4 and last 4 hex digits of its SHA-256, for logs, artifacts and errors.
public enum Fingerprint {
    public static func of(_ secret: String) -> String {
        let hex = sha256Hex(secret)
        return String(hex.prefix(4)) + "…" + String(hex.suffix(4))
    }

    /// The full lowercase hex SHA-256 of a string (on every request's key lookup, so no `String(format:)`).
    public static func sha256Hex(_ text: String) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        let digest = SHA256.hash(data: Data(text.utf8))
        return String(unsafeUninitializedCapacity: 64) { buffer in
            var index = 0
            for byte in digest {
                buffer[index] = digits[Int(byte >> 4)]
                buffer[index + 1] = digits[Int(byte & 0x0f)]
                index += 2
            }
            return 64
        }
    }
}
