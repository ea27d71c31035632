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
        // Two daemons starting on a fresh data dir must end with one key: the file is created whole, once.
        let (text, _) = try PrivateFile.readOrCreate(path) {
            SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() } + "\n"
        }
        return try SecretBox(base64: text, name: path)
    }

    /// The key in an existing file (a key file is never created here: a mistyped path must not become a new key).
    public static func read(file path: String) throws -> SecretBox {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw StoreError.invalid("cannot read the secret key file \(path)")
        }
        return try SecretBox(base64: text, name: path)
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
