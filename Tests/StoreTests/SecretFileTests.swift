import Crypto
import Foundation
import Testing
@testable import Store

/// The secret key and the admin token are generated into the data dir on first start: daemons starting together
/// on a fresh data dir must agree on one of each, and nobody may read a half-written file.
@Suite struct SecretFileTests {
    static func freshDir() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-secret-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func concurrentFirstStartsAgreeOnOneSecretKey() async throws {
        for _ in 0..<20 {
            let dir = try Self.freshDir()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let sealed = try await withThrowingTaskGroup(of: Data.self) { group in
                for _ in 0..<8 {
                    group.addTask { try SecretBox.load(environment: nil, dataDir: dir).seal("same key?") }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            // Every box opens what every other sealed: one key.
            let box = try SecretBox.load(environment: nil, dataDir: dir)
            for data in sealed { #expect(try box.openString(data) == "same key?") }
            let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/secret-key")
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["secret-key"], "no temporary file left")
        }
    }

    @Test func concurrentFirstStartsAgreeOnOneAdminToken() async throws {
        let dir = try Self.freshDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tokens = try await withThrowingTaskGroup(of: AdminToken.self) { group in
            for _ in 0..<8 { group.addTask { try AdminToken.load(environment: nil, dataDir: dir) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(tokens.map(\.value)).count == 1)
        #expect(tokens.filter(\.generated).count == 1, "one process generated it, the others read it")
        #expect(tokens[0].value.hasPrefix("sya_") && tokens[0].value.count == 68)
        let again = try AdminToken.load(environment: nil, dataDir: dir)
        #expect(again.value == tokens[0].value && !again.generated)
    }

    @Test func aMalformedKeyFileIsAnErrorNotReplaced() throws {
        let dir = try Self.freshDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "not a key\n".write(toFile: dir + "/secret-key", atomically: true, encoding: .utf8)
        #expect(throws: StoreError.self) { try SecretBox.load(environment: nil, dataDir: dir) }
        #expect(try String(contentsOfFile: dir + "/secret-key", encoding: .utf8) == "not a key\n")
    }
}
