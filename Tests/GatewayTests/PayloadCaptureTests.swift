import GatewayFixtures
import Crypto
import Foundation
import Gateway
import GRDB
import HTTPTypes
import HummingbirdTesting
import NIOCore
@_spi(Engine) import Store
import Testing

@Suite struct PayloadCaptureTests {
    @Test func payloadsAreSealedCappedAndReadOnlyWithAReason() async throws {
        let box = SecretBox(key: SymmetricKey(size: .bits256))
        let f = try await RelayFixture(relay: RelayOptions(capturePayloads: true, maxPayloadBytes: 100), payloadBox: box)
        try await f.test { client in
            _ = try await f.setUp(client)
            var body = chatBody()
            body["messages"] = [["role": "user", "content": "SECRET-PROMPT-" + String(repeating: "x", count: 200)]]
            #expect(try await f.post(client, "/v1/chat/completions", body).status == .ok)
            let (_, traces) = try await f.flushed()
            let trace = try #require(traces.first)
            #expect(trace.hasPayload)
            let stored = try await f.db.read { db in try Payload.fetchOne(db, key: trace.id!) }
            let payload = try #require(stored)
            #expect(payload.requestTruncated && payload.responseTruncated)
            #expect(payload.expiresAt > trace.createdAt + 6 * 86_400_000)
            for sealed in [payload.requestSealed, payload.responseSealed] {
                #expect(!String(decoding: sealed ?? Data(), as: UTF8.self).contains("SECRET-PROMPT"), "sealed, not plain")
            }
            // No reason: 422 and no audit row.
            try await f.api(client, .post, "/api/traces/\(trace.id!)/payload", [:], expect: .unprocessableContent)
            try await f.api(client, .post, "/api/traces/\(trace.id!)/payload", ["reason": "  "], expect: .unprocessableContent)
            let opened = try await f.api(client, .post, "/api/traces/\(trace.id!)/payload", ["reason": "customer ticket 42"], expect: .ok)
            let request = try #require(opened["request"] as? String)
            #expect(request.contains("SECRET-PROMPT-"))
            #expect(request.utf8.count == 100 && opened["request_truncated"] as? Bool == true)
            #expect((opened["response"] as? String)?.hasPrefix(#"{"choices":"#) == true)
            let audit = try await f.db.read { db in try SQLRow.fetchAll(db, sql: "SELECT trace_id, reason FROM payload_audit") }
            let reason = try audit.first?.get("reason", as: String.self)
            #expect(audit.count == 1 && reason == "customer ticket 42")
            try await f.api(client, .post, "/api/traces/999999/payload", ["reason": "x"], expect: .notFound)
        }
    }

    @Test func streamsAreCapturedAsDelivered() async throws {
        let box = SecretBox(key: SymmetricKey(size: .bits256))
        let f = try await RelayFixture(relay: RelayOptions(capturePayloads: true), payloadBox: box)
        try await f.test { client in
            _ = try await f.setUp(client)
            let response = try await f.post(client, "/v1/chat/completions", chatBody(stream: true))
            let (_, traces) = try await f.flushed()
            let stored = try await f.db.read { db in try Payload.fetchOne(db, key: traces[0].id!) }
            let payload = try #require(stored)
            let delivered = try box.open(try #require(payload.responseSealed))
            #expect(String(decoding: delivered, as: UTF8.self) == String(buffer: response.body))
            #expect(!payload.responseTruncated)
        }
    }

    @Test func malformedPayloadKeyIsAClearError() {
        #expect(throws: StoreError.self) { try SecretBox(base64: "not-base64!", name: "SWITCHYARD_PAYLOAD_KEY") }
        #expect(throws: StoreError.self) { try SecretBox(base64: Data(count: 16).base64EncodedString(), name: "SWITCHYARD_PAYLOAD_KEY") }
        do {
            _ = try SecretBox(base64: "short", name: "SWITCHYARD_PAYLOAD_KEY")
        } catch {
            #expect("\(error)".contains("SWITCHYARD_PAYLOAD_KEY must be 32 bytes encoded as base64"))
        }
    }
}
