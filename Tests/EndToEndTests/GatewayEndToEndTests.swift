import AsyncHTTPClient
import Foundation
import NIOCore
import GRDB
@_spi(Engine) import Store
import Synchronization
import Testing
import TestSupport

/// The gateway as users run it: a daemon process, a mock upstream process, real HTTP over loopback.
@Suite(.serialized, .processDiagnostics) struct GatewayEndToEndTests {
    /// No plain upstream key, client key or payload text in logs, traces, errors, `/api` answers or the database file.
    @Test func secretsNeverLeak() async throws {
        let payloadKey = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let g = try await GatewayProcess(extraArgs: ["--capture-payloads"], env: ["SWITCHYARD_PAYLOAD_KEY": payloadKey])
        try await g.provision()
        let prompt = "PRIVATE-PROMPT-\(UUID().uuidString)"
        let ok = try await g.request(.POST, g.base + "/v1/chat/completions",
                                     json: ["model": "gpt-4o-mini", "messages": [["role": "user", "content": prompt]]],
                                     headers: [("authorization", "Bearer \(g.clientKey)")])
        #expect(ok.status == 200)
        // An upstream that quotes the key it received in its error message.
        try await g.setFaults([["fault": ["status": 401, "echo_key": true]]])
        let failed = try await g.chat()
        #expect(failed.status == 502)
        #expect(failed.body.contains("Incorrect API key provided"), "the upstream's message is kept, minus the key: \(failed.body)")
        let wrongKey = try await g.request(.POST, g.base + "/v1/chat/completions", json: ["model": "gpt-4o-mini", "messages": []],
                                           headers: [("authorization", "Bearer sk-not-a-real-key-123456")])
        #expect(wrongKey.status == 401)
        try await Task.sleep(for: .milliseconds(400))  // let the writer flush
        var seen = [ok.body, failed.body, wrongKey.body]
        for path in ["/api/channels", "/api/keys", "/api/users", "/api/traces", "/api/usage", "/api/models", "/api/jobs"] {
            let reply = try await g.admin(.GET, path)
            #expect(reply.status == 200, "\(path)")
            seen.append(reply.body)
        }
        g.daemon.signal(SIGTERM)
        #expect(await g.daemon.waitForExit(timeout: .seconds(20)) == 0)
        seen += [g.daemon.stdout, g.daemon.stderr]
        let database = try Data(contentsOf: URL(fileURLWithPath: g.dataDir + "/switchyard.sqlite"))
            + ((try? Data(contentsOf: URL(fileURLWithPath: g.dataDir + "/switchyard.sqlite-wal"))) ?? Data())
        seen.append(String(decoding: database, as: UTF8.self))
        for text in seen {
            #expect(!text.contains(GatewayProcess.upstreamKey), "plain upstream key leaked")
            #expect(!text.contains(g.clientKey), "plain client key leaked")
            #expect(!text.contains(prompt), "plain payload leaked")
        }
        // The traces still tell operators what happened.
        #expect(seen.contains { $0.contains("upstream answered 401") })
    }

    /// `serve --http-server` and `--executor`: either server on either executor relays plain and streamed chats and stops cleanly.
    @Test(arguments: [["--http-server", "hummingbird", "--executor", "pool"], ["--http-server", "direct", "--executor", "eventloops"]])
    func serverAndExecutorFlags(_ flags: [String]) async throws {
        let g = try await GatewayProcess(extraArgs: flags)
        try await g.provision()
        #expect(try await g.chat().status == 200)
        let streamed = try await g.chat(stream: true)
        #expect(streamed.status == 200 && streamed.body.contains("[DONE]"), "\(streamed.body.prefix(200))")
        g.daemon.signal(SIGTERM)
        #expect(await g.daemon.waitForExit(timeout: .seconds(20)) == 0)
    }

    /// SIGTERM under load: every request that got a 200 and a whole body has its usage log.
    @Test(arguments: Engine.allCases) func sigtermUnderLoadLosesNoUsage(_ engine: Engine) async throws {
        let g = try await GatewayProcess(engine)
        try await g.provision()
        let completed = Locked<[String]>([])
        let stop = Locked(false)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    while !stop.value {
                        guard let reply = try? await g.chat(stream: Bool.random()), reply.status == 200,
                              reply.body.contains("mock upstream") || reply.body.contains("[DONE]") else { continue }
                        if let id = reply.headers.first(name: "x-request-id") { completed.update { $0.append(id) } }
                    }
                }
            }
            try await Task.sleep(for: .seconds(1.5))
            g.daemon.signal(SIGTERM)
            let began = ContinuousClock.now
            while ContinuousClock.now - began < .seconds(1) && g.daemon.process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
            stop.update { $0 = true }
            try await group.waitForAll()
        }
        #expect(await g.daemon.waitForExit(timeout: .seconds(20)) == 0)
        let ids = completed.value
        #expect(ids.count > 20, "load ran")
        let logged = try await usageRequestIds(g.database.db)
        let missing = ids.filter { !logged.contains($0) }
        #expect(missing.isEmpty, "\(missing.count) of \(ids.count) completed requests have no usage log")
    }

    /// kill -9 under load, then restart: loss is bounded by the writer's flush interval (100 ms) plus the commits in
    /// flight — every request completed more than 1.5 s before the kill has its usage log. The margin is for a commit's
    /// fsync on a disk shared with a dozen other test daemons (and the start-up `yard.prune` checkpoint, which holds
    /// writers while it syncs): 500 ms lost that race on a 2-core machine.
    @Test(arguments: Engine.allCases) func killNineUnderLoadLosesAtMostTheLastFlushInterval(_ engine: Engine) async throws {
        let g = try await GatewayProcess(engine)
        try await g.provision()
        let completed = Locked<[(String, ContinuousClock.Instant)]>([])
        let stop = Locked(false)
        var killedAt = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    while !stop.value {
                        guard let reply = try? await g.chat(), reply.status == 200, reply.body.contains("mock upstream") else { continue }
                        if let id = reply.headers.first(name: "x-request-id") { completed.update { $0.append((id, .now)) } }
                    }
                }
            }
            try await Task.sleep(for: .seconds(4))
            g.daemon.signal(SIGKILL)
            killedAt = .now
            stop.update { $0 = true }
            try await group.waitForAll()
        }
        _ = await g.daemon.waitForExit(timeout: .seconds(10))
        try await g.restart(name: "daemon-2")
        let all = completed.value
        let settled = all.filter { $0.1 < killedAt - .milliseconds(1500) }.map(\.0)
        #expect(settled.count > 20, "load ran")
        let logged = try await usageRequestIds(g.database.db)
        let missing = settled.filter { !logged.contains($0) }
        #expect(missing.isEmpty, "\(missing.count) of \(settled.count) requests completed >1.5 s before the kill lost their usage log")
        // Nothing half-written: every usage log has its trace.
        let orphans = try await g.database.db.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM usage_logs u LEFT JOIN traces t ON t.request_id = u.request_id WHERE t.id IS NULL")
        }
        #expect(orphans == 0)
        // The restarted daemon serves again.
        #expect(try await g.chat().status == 200)
        g.daemon.signal(SIGTERM)
        _ = await g.daemon.waitForExit(timeout: .seconds(20))
    }

    func usageRequestIds(_ db: AppDatabase) async throws -> Set<String> {
        try await db.read { db in Set(try String.fetchAll(db, sql: "SELECT request_id FROM usage_logs")) }
    }
}

/// A client that goes away mid-stream: the gateway cancels the upstream request and bills only what was delivered.
@Suite(.serialized, .processDiagnostics) struct RetentionFlagTests {
    /// `--trace-retention-days` and `--payload-retention-days` set when what a request leaves behind expires.
    @Test func retentionFlagsSetExpiry() async throws {
        let payloadKey = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let g = try await GatewayProcess(extraArgs: ["--trace-retention-days", "2", "--payload-retention-days", "0.5", "--capture-payloads"],
                                         env: ["SWITCHYARD_PAYLOAD_KEY": payloadKey])
        try await g.provision()
        #expect(try await g.chat().status == 200)
        g.daemon.signal(SIGTERM)
        #expect(await g.daemon.waitForExit(timeout: .seconds(20)) == 0)
        let db = try AppDatabase.open(dataDir: g.dataDir)
        let (trace, payload) = try await db.read { db in
            (try SQLRow.fetchOne(db, sql: "SELECT created_at, expires_at FROM traces")!, try Int64.fetchOne(db, sql: "SELECT expires_at FROM payloads")!)
        }
        let created: Int64 = try trace["created_at"], expires: Int64 = try trace["expires_at"]
        #expect(expires - created == 2 * 86_400_000)
        #expect(payload - created == 43_200_000)
    }
}

@Suite(.serialized, .processDiagnostics) struct ClientDisconnectTests {
    @Test func clientDisconnectCancelsTheUpstream() async throws {
        let g = try await GatewayProcess()
        try await g.provision()
        try await g.setFaults([["fault": ["chunk_delay_ms": 300]]])
        var request = HTTPClientRequest(url: g.base + "/v1/chat/completions")
        request.method = .POST
        request.headers.add(name: "authorization", value: "Bearer \(g.clientKey)")
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: #"{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}"#))
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let response = try await client.execute(request, timeout: .seconds(10))
            #expect(response.status == .ok)
            var iterator = response.body.makeAsyncIterator()
            _ = try await iterator.next()  // the first output has arrived; now hang up
        }
        try await client.shutdown()
        let aborted = await eventually(timeout: .seconds(10)) {
            let counts = try await g.request(.GET, g.mockBase + "/_mock/requests").json
            return counts.keys.contains { $0.hasPrefix("ABORTED /v1/chat/completions") }
        }
        #expect(aborted, "the upstream stream was cancelled when the client left")
        // The trace reaches the database with the record writer's next flush (100 ms apart, later under load).
        var traces: [[String: Any]] = []
        _ = await eventually(timeout: .seconds(10)) {
            traces = try await g.admin(.GET, "/api/traces").json["data"] as? [[String: Any]] ?? []
            return !traces.isEmpty
        }
        let trace = try #require(traces.first)
        #expect(trace["status"] as? Int == 499)
        let completion = trace["completion_tokens"] as? Int ?? 0
        #expect(completion >= 1 && completion < 6, "billed for what was delivered: \(completion)")
        g.daemon.signal(SIGTERM)
        _ = await g.daemon.waitForExit(timeout: .seconds(20))
    }
}
