import Foundation
import Gateway
import HTTPTypes
import HummingbirdTesting
import Jobs
import Logging
import MockUpstream
import NIOCore
import Probe
import Scheduler
import Store
import Testing

/// Exit nodes: the API, and `nodes.probe` moving traffic from IP to host name, marking nodes unhealthy and back,
/// and re-enabling auto-disabled channels.
@Suite struct NodesTests {
    static let relayKey = "rk-relay-SECRET-0042"

    /// Runs one `nodes.probe` job on the fixture's database, as a worker would.
    func probe(_ f: RelayFixture, unhealthyAfter: Int = 3, timeout: Duration = .seconds(15)) async throws {
        let job = NodesProbeJob(db: f.db, secrets: f.deps.secrets, nodeProbe: NodeProbe(timeout: timeout),
                                probe: ProbeClient(timeout: .seconds(15)), artifacts: f.deps.artifacts, unhealthyAfter: unhealthyAfter)
        let claimed = ClaimedJob(id: Int64.random(in: 1...1_000_000), kind: job.kind, queue: "maintenance", args: "{}", priority: 0,
                                 attempt: 1, maxAttempts: 1, retryUntil: nil, leaseToken: 1, leaseExpiresAt: 0)
        #expect(try await job.run(JobContext(job: claimed, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })) == .completed)
        try await f.deps.state.reload()
    }

    func node(_ f: RelayFixture, _ client: any TestClientProtocol, expectedIP: String) async throws -> Int64 {
        try await f.api(client, .post, "/api/nodes", ["name": "edge-1", "host": "localhost", "expected_ip": expectedIP,
                                                      "relay_url": "http://localhost:\(f.mock.port)", "relay_key": Self.relayKey],
                        expect: .created)["id"] as! Int64
    }

    @Test func dnsMismatchNeverSwitchesTrafficToTheHostName() async throws {
        let f = try await RelayFixture()
        try await f.test { client in
            let id = try await node(f, client, expectedIP: "203.0.113.7")
            // The relay answers on the host name, but DNS disagrees: traffic stays on the (here unreachable) IP.
            for _ in 0..<2 { try await probe(f, unhealthyAfter: 5, timeout: .milliseconds(300)) }
            let node = try await f.api(client, .get, "/api/nodes/\(id)", expect: .ok)
            #expect(node["status"] as? String == "dns_mismatch")
            #expect(node["use_hostname"] as? Bool == false)
            #expect(node["traffic_url"] as? String == "http://203.0.113.7:\(f.mock.port)")
            #expect((node["dns_addresses"] as? [String])?.contains("127.0.0.1") == true)
            #expect(node["relay_key_fingerprint"] as? String == Fingerprint.of(Self.relayKey))
            // The artifact of the change: valid, and no relay key in it.
            let kind = f.dir + "/artifacts/nodes.probe"
            let folders = try FileManager.default.contentsOfDirectory(atPath: kind)
            #expect(folders.count == 1, "only the run that changed something writes one: \(folders)")
            let summary = try Data(contentsOf: URL(fileURLWithPath: "\(kind)/\(folders[0])/summary.json"))
            let schema = try Data(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("../../artifacts/schema/nodes.probe.schema.json"))
            #expect(try SchemaValidator.violations(json: summary, schema: schema) == [])
            #expect(!String(decoding: summary, as: UTF8.self).contains(Self.relayKey))
            // However long it goes on, the host name is never used; the unreachable IP ends as unhealthy.
            for _ in 0..<5 { try await probe(f, unhealthyAfter: 5, timeout: .milliseconds(300)) }
            let later = try await f.api(client, .get, "/api/nodes/\(id)", expect: .ok)
            #expect(later["use_hostname"] as? Bool == false && later["status"] as? String == "unhealthy")
        }
    }

    @Test func healthyNodeIsPromotedAndHealthDecidesRouting() async throws {
        let f = try await RelayFixture()
        try await f.test { client in
            let nodeId = try await node(f, client, expectedIP: "127.0.0.1")
            _ = try await f.setUp(client, channels: [["node_id": nodeId]])
            // Before any probe: traffic by IP, and it flows.
            #expect((try await f.api(client, .get, "/api/nodes/\(nodeId)"))["traffic_url"] as? String == "http://127.0.0.1:\(f.mock.port)")
            #expect(try await f.post(client, "/v1/chat/completions", chatBody()).status == .ok)

            try await probe(f)
            var node = try await f.api(client, .get, "/api/nodes/\(nodeId)")
            #expect(node["status"] as? String == "healthy" && node["use_hostname"] as? Bool == true)
            #expect(node["traffic_url"] as? String == "http://localhost:\(f.mock.port)")
            #expect(try await f.post(client, "/v1/chat/completions", chatBody()).status == .ok)

            // Health fails: still routed after 2 failures, out of routing at the 3rd.
            f.mock.script.replace([FaultRule(key: Self.relayKey, fault: Fault(status: 503))])
            try await probe(f)
            try await probe(f)
            node = try await f.api(client, .get, "/api/nodes/\(nodeId)")
            #expect(node["status"] as? String == "healthy" && node["health_failures"] as? Int == 2)
            try await probe(f)
            node = try await f.api(client, .get, "/api/nodes/\(nodeId)")
            #expect(node["status"] as? String == "unhealthy")
            #expect(try await f.post(client, "/v1/chat/completions", chatBody()).status == .serviceUnavailable)

            // Recovery puts it back.
            f.mock.script.replace([])
            try await probe(f)
            #expect((try await f.api(client, .get, "/api/nodes/\(nodeId)"))["status"] as? String == "healthy")
            #expect(try await f.post(client, "/v1/chat/completions", chatBody()).status == .ok)
        }
    }

    @Test func autoDisabledChannelsComeBackOperatorDisabledOnesDoNot() async throws {
        let f = try await RelayFixture()
        try await f.test { client in
            let ids = try await f.setUp(client, channels: [[:], [:], ["api_key": "sk-still-broken-01"]])
            f.mock.script.replace([FaultRule(key: "sk-still-broken-01", fault: Fault(status: 401))])
            try await f.db.pool.write { db in
                try db.execute(sql: "UPDATE channels SET status = 'auto_disabled', status_reason = 'failures' WHERE id IN (?, ?)",
                               arguments: [ids[0], ids[2]])
            }
            try await f.api(client, .patch, "/api/channels/\(ids[1])", ["status": "disabled"], expect: .ok)
            try await probe(f)
            let statuses = try await f.db.pool.read { db in try String.fetchAll(db, sql: "SELECT status FROM channels ORDER BY id") }
            #expect(statuses == ["enabled", "disabled", "auto_disabled"])
        }
    }

    @Test func nodeAPIValidatesAndGuardsBoundNodes() async throws {
        let f = try await RelayFixture()
        try await f.test { client in
            for bad: [String: Any] in [
                ["host": "localhost", "expected_ip": "127.0.0.1", "relay_url": "http://localhost:1", "relay_key": "k"],
                ["name": "x", "host": "localhost", "expected_ip": "not-an-ip", "relay_url": "http://localhost:1", "relay_key": "k"],
                ["name": "x", "host": "edge.example", "expected_ip": "127.0.0.1", "relay_url": "http://other.example", "relay_key": "k"],
                ["name": "x", "host": "localhost", "expected_ip": "127.0.0.1", "relay_url": "ftp://localhost", "relay_key": "k"],
                ["name": "x", "host": "localhost", "expected_ip": "127.0.0.1", "relay_url": "http://localhost:1"],
            ] {
                try await f.api(client, .post, "/api/nodes", bad, expect: .unprocessableContent)
            }
            let id = try await node(f, client, expectedIP: "127.0.0.1")
            try await f.api(client, .post, "/api/nodes", ["name": "edge-1", "host": "localhost", "expected_ip": "127.0.0.1",
                                                          "relay_url": "http://localhost:1", "relay_key": "k"], expect: .conflict)
            let listed = try await client.execute(uri: "/api/nodes", method: .get, headers: RelayFixture.admin)
            #expect(!String(buffer: listed.body).contains(Self.relayKey))
            try await f.api(client, .post, "/api/channels", ["name": "c", "base_url": "http://a.example", "api_key": "k", "node_id": 999],
                            expect: .unprocessableContent)
            let channel = try await f.api(client, .post, "/api/channels",
                                          ["name": "c", "base_url": "http://a.example", "api_key": "k", "node_id": id], expect: .created)
            let problem = try await f.api(client, .delete, "/api/nodes/\(id)", expect: .conflict)
            #expect(problem["type"] as? String == "in_use")
            try await f.api(client, .patch, "/api/channels/\(channel["id"] as! Int64)", ["node_id": 0], expect: .ok)
            try await f.api(client, .delete, "/api/nodes/\(id)", expect: .noContent)
            try await f.api(client, .get, "/api/nodes/\(id)", expect: .notFound)
        }
    }
}
