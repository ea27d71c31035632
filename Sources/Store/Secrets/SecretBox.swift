import Crypto
import Foundation

/// Seals and opens secrets with AES-256-GCM (a fresh nonce per seal); the key never leaves the process.
public struct SecretBox: Sendable {
    private let key: SymmetricKey

    public init(key: SymmetricKey) { self.key = key }

    /// A box from 32 bytes of base64; a clear error names the variable when it is malformed.
    public init(base64 text: String, name: String) throws {
        guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), data.count == 32 else {
            throw StoreError.invalid("\(name) must be 32 bytes encoded as base64 (e.g. `openssl rand -base64 32`)")
        }
        key = SymmetricKey(data: data)
    }

    /// The key from `environment`, else from `<dataDir>/secret-key`, generated (0600) on first use.
    public static func load(environment: String?, dataDir: String) throws -> SecretBox {
        if let environment, !environment.isEmpty { return try SecretBox(base64: environment, name: "SWITCHYARD_SECRET_KEY") }
        let path = dataDir + "/secret-key"
        if let existing = try? String(contentsOfFile: path, encoding: .utf8) {
            return try SecretBox(base64: existing, name: path)
        }
        let key = SymmetricKey(size: .bits256)
        let text = key.withUnsafeBytes { Data($0).base64EncodedString() }
        try PrivateFile.write(text + "\n", to: path)
        return SecretBox(key: key)
    }

    public func seal(_ plain: Data) throws -> Data {
        guard let combined = try AES.GCM.seal(plain, using: key).combined else {
            throw StoreError.invalid("cannot seal secret")
        }
        return combined
    }

    public func seal(_ plain: String) throws -> Data { try seal(Data(plain.utf8)) }

    public func open(_ sealed: Data) throws -> Data {
        do {
            return try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: key)
        } catch {
            throw StoreError.invalid("cannot open sealed secret: wrong key or corrupted data")
        }
    }

    public func openString(_ sealed: Data) throws -> String { String(decoding: try open(sealed), as: UTF8.self) }
}

/// Writes a file only its owner can read (0600).
enum PrivateFile {
    static func write(_ text: String, to path: String) throws {
        let fd = Foundation.open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw StoreError.dataDir("cannot write \(path)") }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard Foundation.write(fd, bytes, bytes.count) == bytes.count else { throw StoreError.dataDir("cannot write \(path)") }
    }
}
