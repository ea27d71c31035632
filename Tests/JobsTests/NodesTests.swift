import GatewayFixtures
import Artifacts
import Foundation
import Gateway
import HTTPTypes
import HummingbirdTesting
import Jobs
import Logging
import MockUpstream
import NIOCore
import NIOPosix
import Probe
import Scheduler
@_spi(Engine) import Store
import Testing
import TestSupport

/// Exit nodes: the API, and `nodes.probe` moving traffic from IP to host name, marking nodes unhealthy and back,
/// and re-enabling auto-disabled channels.
@Suite struct NodesTests {
    static let relayKey = "rk-relay-SECRET-0042"

    /// Runs one `nodes.probe` job on the fixture's database, as a worker of the daemon would (with its background
    /// HTTP client).
    func probe(_ f: RelayFixture, unhealthyAfter: Int = 3, timeout: Duration = .seconds(15)) async throws {
        let background = BackgroundHTTPClient(nice: 0)
        let job = NodesProbeJob(db: f.db, secrets: f.deps.secrets, nodeProbe: NodeProbe(client: background.client, timeout: timeout),
                                probe: ProbeClient(timeout: .seconds(15)), artifacts: f.deps.artifacts, unhealthyAfter: unhealthyAfter)
        let claimed = ClaimedJob(id: Int64.random(in: 1...1_000_000), kind: job.kind, queue: "maintenance", args: "{}", priority: 0,
                                 attempt: 1, maxAttempts: 1, retryUntil: nil, leaseToken: 1, leaseExpiresAt: 0)
        let result = await Result(catching: { try await job.run(JobContext(job: claimed, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })) })
        await background.shutdown()
        #expect(try result.get() == .completed)
        try await f.deps.state.reload()
    }

    func node(_ f: RelayFixture, _ client: any TestClientProtocol, expectedIP: String) async throws -> Int64 {
        try await f.api(client, .post, "/api/nodes", ["name": "edge-1", "host": "localhost", "expected_ip": expectedIP,
                                                      "relay_url": "http://localhost:\(f.mock.port)", "relay_key": Self.relayKey],
                        expect: .created)["id"] as! Int64
    }

    @Test(arguments: Engine.allCases) func dnsMismatchNeverSwitchesTrafficToTheHostName(_ engine: Engine) async throws {
        let f = try await RelayFixture(engine)
        try await f.test { client in
            let id = try await node(f, client, expectedIP: "127.0.0.2")
            // The relay answers on the host name, but DNS disagrees: traffic stays on the IP (where nothing listens).
            for _ in 0..<2 { try await probe(f, unhealthyAfter: 5, timeout: .milliseconds(300)) }
            let node = try await f.api(client, .get, "/api/nodes/\(id)", expect: .ok)
            #expect(node["status"] as? String == "dns_mismatch")
            #expect(node["use_hostname"] as? Bool == false)
            #expect(node["traffic_url"] as? String == "http://127.0.0.2:\(f.mock.port)")
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
            #expect(try await PythonSchemaCheck.violations(summary, schemaPath: PythonSchemaCheck.schemaPath("nodes.probe")) == [])
            #expect(!String(decoding: summary, as: UTF8.self).contains(Self.relayKey))
            // However long it goes on, the host name is never used; the unreachable IP ends as unhealthy.
            for _ in 0..<5 { try await probe(f, unhealthyAfter: 5, timeout: .milliseconds(300)) }
            let later = try await f.api(client, .get, "/api/nodes/\(id)", expect: .ok)
            #expect(later["use_hostname"] as? Bool == false && later["status"] as? String == "unhealthy")
        }
    }

    @Test(arguments: Engine.allCases) func healthyNodeIsPromotedAndHealthDecidesRouting(_ engine: Engine) async throws {
        let f = try await RelayFixture(engine)
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

    @Test(arguments: Engine.allCases) func autoDisabledChannelsComeBackOperatorDisabledOnesDoNot(_ engine: Engine) async throws {
        let f = try await RelayFixture(engine)
        try await f.test { client in
            let ids = try await f.setUp(client, channels: [[:], [:], ["api_key": "sk-still-broken-01"]])
            f.mock.script.replace([FaultRule(key: "sk-still-broken-01", fault: Fault(status: 401))])
            try await f.db.write { db in
                try db.execute(sql: "UPDATE channels SET status = 'auto_disabled', status_reason = 'failures' WHERE id IN (?, ?)",
                               arguments: [ids[0], ids[2]])
            }
            try await f.api(client, .patch, "/api/channels/\(ids[1])", ["status": "disabled"], expect: .ok)
            try await probe(f)
            let statuses = try await f.db.read { db in try String.fetchAll(db, sql: "SELECT status FROM channels ORDER BY id") }
            #expect(statuses == ["enabled", "disabled", "auto_disabled"])
        }
    }

    @Test(arguments: Engine.allCases) func nodeAPIValidatesAndGuardsBoundNodes(_ engine: Engine) async throws {
        let f = try await RelayFixture(engine)
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
            try await f.api(client, .post, "/api/channels", ["name": "c", "base_url": "http://127.0.0.1:1", "api_key": "k", "node_id": 999],
                            expect: .unprocessableContent)
            let channel = try await f.api(client, .post, "/api/channels",
                                          ["name": "c", "base_url": "http://127.0.0.1:1", "api_key": "k", "node_id": id], expect: .created)
            let problem = try await f.api(client, .delete, "/api/nodes/\(id)", expect: .conflict)
            #expect(problem["type"] as? String == "in_use")
            try await f.api(client, .patch, "/api/channels/\(channel["id"] as! Int64)", ["node_id": 0], expect: .ok)
            try await f.api(client, .delete, "/api/nodes/\(id)", expect: .noContent)
            try await f.api(client, .get, "/api/nodes/\(id)", expect: .notFound)
        }
    }

    /// A node at `host` (an IP, so DNS matches without a resolver) whose relay is `http://host:port`.
    func node(_ f: RelayFixture, _ client: any TestClientProtocol, name: String, host: String, port: Int) async throws -> Int64 {
        try await f.api(client, .post, "/api/nodes", ["name": name, "host": host, "expected_ip": host, "relay_url": "http://\(host):\(port)",
                                                      "relay_key": Self.relayKey], expect: .created)["id"] as! Int64
    }

    @Test(arguments: Engine.allCases) func aRefusedRelayIsMarkedAtOnce(_ engine: Engine) async throws {
        let f = try await RelayFixture(engine)
        try await f.test { client in
            // The mock listens on 127.0.0.1 only: the same port on 127.0.0.2 refuses connections.
            let id = try await node(f, client, name: "down", host: "127.0.0.2", port: f.mock.port)
            let started = ContinuousClock.now
            try await probe(f, unhealthyAfter: 1, timeout: .seconds(10))
            let elapsed = ContinuousClock.now - started
            let node = try await f.api(client, .get, "/api/nodes/\(id)", expect: .ok)
            #expect(node["status"] as? String == "unhealthy", "\(node)")
            #expect(node["last_error"] as? String == "connection refused", "\(node)")
            #expect(elapsed < .seconds(8), "a refused connection is an answer; took \(elapsed) of the 10 s timeout")
        }
    }

    @Test(arguments: Engine.allCases) func manyNodesHalfDownAreProbedInAboutOneTimeout(_ engine: Engine) async throws {
        let f = try await RelayFixture(engine)
        let silent = try await SilentServer.start()
        try await f.test { client in
            // 100 nodes: 50 refuse, 25 accept and never answer, 25 are healthy.
            var kinds: [Int64: String] = [:]
            for index in 0..<100 {
                let (kind, host, port) = switch index % 4 {
                case 0, 2: ("refused", "127.0.0.2", f.mock.port)
                case 1: ("silent", "127.0.0.1", silent.port)
                default: ("healthy", "127.0.0.1", f.mock.port)
                }
                kinds[try await node(f, client, name: "edge-\(index)", host: host, port: port)] = kind
            }
            // 5 s: the healthy answers must come inside it even while the parallel unit suites load both cores (2 s was
            // missed in CI); 25 silent nodes probed one after another would still take 25 timeouts.
            let timeout = Duration.seconds(5)
            let started = ContinuousClock.now
            try await probe(f, unhealthyAfter: 1, timeout: timeout)
            let elapsed = ContinuousClock.now - started
            let listed = try await f.api(client, .get, "/api/nodes?limit=200", expect: .ok)
            let nodes = try #require(listed["data"] as? [[String: Any]])
            #expect(nodes.count == 100)
            for node in nodes {
                let kind = kinds[node["id"] as! Int64]
                let status = node["status"] as? String, error = node["last_error"] as? String
                switch kind {
                case "refused": #expect(status == "unhealthy" && error == "connection refused", "\(node)")
                case "silent": #expect(status == "unhealthy" && error?.hasPrefix("no answer") == true, "\(node)")
                default: #expect(status == "healthy", "\(node)")
                }
            }
            // Concurrently: about one timeout for all of them, not one per node down (or per handful of them).
            #expect(elapsed < timeout * 2, "100 nodes took \(elapsed) with a \(timeout) timeout")
        }
        try await silent.close()
    }
}

/// A loopback server that accepts connections and never answers: a relay that hangs.
struct SilentServer {
    let channel: any Channel
    var port: Int { channel.localAddress!.port! }

    static func start() async throws -> SilentServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .bind(host: "127.0.0.1", port: 0).get()
        return SilentServer(channel: channel)
    }

    func close() async throws { try await channel.close() }
}
