import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Probe

/// `bench gateway --streams N`: N slow streams held open at once through a gateway, each read to its end, and for
/// every one that fails, which side failed it and why.
struct HeldStreams: Codable {
    var opened: Int
    var completed: Int
    var failed: Int
    var seconds: Double
    /// Failed streams by cause as the bench's client saw them, each cause prefixed by the side it comes from: `client:`
    /// (the bench's own HTTP client got no answer from the gateway), `gateway:` (the gateway answered an error or cut
    /// the stream).
    var failures: [String: Int]
    /// The gateway's own record of the streams it failed in this run (trace status and error), which names the
    /// upstream when the upstream was the cause.
    var gatewayRecorded: [String: Int]
    /// Streams the mock upstream saw its client (the gateway) abandon.
    var upstreamAborted: Int

    /// Opens `count` streaming requests at once through `base` and reads each to its end; `upstream` is the mock's
    /// address (its counters), `admin` the gateway's token (its traces).
    static func measure(count: Int, base: String, key: String, upstream: String, admin: String) async throws -> HeldStreams {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: count)
        configuration.timeout = .init(connect: .seconds(30), read: .seconds(60))
        let abortedBefore = try await aborted(upstream)
        // Traces are stamped with their request's start: the gateway's failures among these streams only.
        let since = Int64(Date().timeIntervalSince1970 * 1000)
        let started = ContinuousClock.now
        // A scoped client: shut down however the body ends (one dropped unshut traps in a debug build).
        let outcomes = try await HTTPClient.withHTTPClient(configuration: configuration) { client in
            try await withThrowingTaskGroup(of: String?.self) { group in
                for _ in 0..<count { group.addTask { await stream(client, base: base, key: key) } }
                var outcomes: [String?] = []
                for try await outcome in group { outcomes.append(outcome) }
                return outcomes
            }
        }
        let seconds = (ContinuousClock.now - started).seconds
        var failures: [String: Int] = [:]
        for case let cause? in outcomes { failures[cause, default: 0] += 1 }
        // The gateway's record writer commits every 100 ms.
        try await Task.sleep(for: .milliseconds(500))
        let recorded = try await failedTraces(base, admin: admin, since: since)
        let failed = outcomes.filter { $0 != nil }.count
        return HeldStreams(opened: count, completed: count - failed, failed: failed, seconds: seconds, failures: failures,
                           gatewayRecorded: recorded, upstreamAborted: try await aborted(upstream) - abortedBefore)
    }

    /// One stream read to its end: nil when it ended with `[DONE]`, else the side and cause of its failure.
    private static func stream(_ client: HTTPClient, base: String, key: String) async -> String? {
        var request = HTTPClientRequest(url: base + "/v1/chat/completions")
        request.method = .POST
        request.headers.add(name: "authorization", value: "Bearer \(key)")
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: #"{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}"#))
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .seconds(120))
        } catch {
            return "client: no answer (\(ConnectionErrorText.describe(error)))"
        }
        var body = ByteBuffer()
        do {
            for try await var part in response.body { body.writeBuffer(&part) }
        } catch {
            return "gateway: stream cut after \(body.readableBytes) bytes (\(ConnectionErrorText.describe(error)))"
        }
        guard response.status == .ok else {
            let message = (try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any])
                .flatMap { ($0["error"] as? [String: Any])?["message"] as? String } ?? String(buffer: body).prefix(120).description
            return "gateway: answered \(response.status.code): \(message.replacingOccurrences(of: #"\d+ attempt"#, with: "N attempt", options: .regularExpression))"
        }
        return String(buffer: body).contains("[DONE]") ? nil : "gateway: stream ended without [DONE] after \(body.readableBytes) bytes"
    }

    /// The mock's count of abandoned streams.
    private static func aborted(_ upstream: String) async throws -> Int {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: upstream + "/_mock/requests"), timeout: .seconds(10))
        let counts = try JSONSerialization.jsonObject(with: Data(buffer: try await response.body.collect(upTo: 1 << 20))) as? [String: Int]
        return counts?.filter { $0.key.hasPrefix("ABORTED") }.values.reduce(0, +) ?? 0
    }

    /// The gateway's failed streams started since `since` (ms), by trace status and error (the newest 500 of each status).
    private static func failedTraces(_ base: String, admin: String, since: Int64) async throws -> [String: Int] {
        var reasons: [String: Int] = [:]
        for status in [499, 502, 503] {
            let page = try await BenchProcess.call(HTTPClient.shared, .GET, base + "/api/traces?status=\(status)&stream=true&since=\(since)&limit=500",
                                                   token: admin)
            for trace in page["data"] as? [[String: Any]] ?? [] {
                reasons["\(status) \(trace["error"] as? String ?? "-")", default: 0] += 1
            }
        }
        return reasons
    }
}
