import Foundation
import Hummingbird
import Scheduler
import Store

/// `/api/nodes`: exit nodes `{name, host, expected_ip, relay_url, relay_key}`; the relay key is sealed at rest
/// and shown as a fingerprint only. `nodes.probe` checks them; channels bind to one with `node_id`.
struct NodesController {
    let db: AppDatabase
    let secrets: SecretBox
    let state: GatewayState
    let clock: any WallClock

    struct Input: Decodable {
        var name: String?
        var host: String?
        var expectedIP: String?
        var relayURL: String?
        var relayKey: String?

        enum CodingKeys: String, CodingKey {
            case name, host
            case expectedIP = "expected_ip"
            case relayURL = "relay_url"
            case relayKey = "relay_key"
        }
    }

    func register(on group: RouterGroup<GatewayContext>) {
        group.post("nodes", use: create)
        group.get("nodes", use: list)
        group.get("nodes/:id", use: show)
        group.patch("nodes/:id", use: update)
        group.delete("nodes/:id", use: delete)
    }

    @Sendable func create(_ request: Request, context: GatewayContext) async throws -> Response {
        let input = try await request.decode(as: Input.self, context: context)
        guard let name = input.name, !name.isEmpty else { throw Problem(.unprocessableContent, "name is required") }
        guard let key = input.relayKey, !key.isEmpty else { throw Problem(.unprocessableContent, "relay_key is required") }
        let (host, relayURL) = try Self.hostAndURL(input.host, input.relayURL)
        let node = ExitNode(name: name, host: host, expectedIP: try Self.ip(input.expectedIP), relayURL: relayURL,
                            relayKeySealed: try secrets.seal(key), relayKeyFingerprint: Fingerprint.of(key), now: clock.nowMillis())
        return try json(NodeView(try await db.createNode(node)), status: .created)
    }

    @Sendable func list(_ request: Request, context: GatewayContext) async throws -> Response {
        let page = try PageRequest(request)
        let (items, next) = page.page(try await db.nodes(page.store)) { $0.id! }
        return try json(PageView(data: items.map(NodeView.init), nextCursor: next))
    }

    @Sendable func show(_ request: Request, context: GatewayContext) async throws -> Response {
        try json(NodeView(try await fetch(try idParameter(context))))
    }

    /// Changing where a node is (host, IP or URL) starts it over: pending, by IP, until probed again.
    @Sendable func update(_ request: Request, context: GatewayContext) async throws -> Response {
        let id = try idParameter(context)
        let input = try await request.decode(as: Input.self, context: context)
        var node = try await fetch(id)
        if let name = input.name, !name.isEmpty { node.name = name }
        if input.host != nil || input.relayURL != nil || input.expectedIP != nil {
            (node.host, node.relayURL) = try Self.hostAndURL(input.host ?? node.host, input.relayURL ?? node.relayURL)
            node.expectedIP = try Self.ip(input.expectedIP ?? node.expectedIP)
            node.status = .pending
            node.useHostname = false
            node.healthFailures = 0
        }
        if let key = input.relayKey {
            guard !key.isEmpty else { throw Problem(.unprocessableContent, "relay_key must not be empty") }
            node.relayKeySealed = try secrets.seal(key)
            node.relayKeyFingerprint = Fingerprint.of(key)
        }
        node.updatedAt = clock.nowMillis()
        let updated = node
        try await db.updateNode(updated)
        try await state.reload()
        return try json(NodeView(updated))
    }

    @Sendable func delete(_ request: Request, context: GatewayContext) async throws -> Response {
        let id = try idParameter(context)
        let bound = try await db.channelIds(boundTo: id)
        guard bound.isEmpty else {
            throw Problem(.conflict, "node \(id) is in use by channel(s) \(bound.map(String.init).joined(separator: ", "))", type: "in_use")
        }
        guard try await db.deleteNode(id) else { throw Problem(.notFound, "node \(id) not found") }
        return Response(status: .noContent)
    }

    private func fetch(_ id: Int64) async throws -> ExitNode {
        guard let node = try await db.node(id) else {
            throw Problem(.notFound, "node \(id) not found")
        }
        return node
    }

    static func ip(_ raw: String?) throws -> String {
        guard let raw, !raw.isEmpty else { throw Problem(.unprocessableContent, "expected_ip is required") }
        var v4 = in_addr(), v6 = in6_addr()
        guard inet_pton(AF_INET, raw, &v4) == 1 || inet_pton(AF_INET6, raw, &v6) == 1 else {
            throw Problem(.unprocessableContent, "expected_ip must be an IP address")
        }
        return raw
    }

    /// The host and a relay URL whose host is that host name (traffic moves to it once DNS and health agree).
    static func hostAndURL(_ host: String?, _ relayURL: String?) throws -> (String, String) {
        guard let host, !host.isEmpty else { throw Problem(.unprocessableContent, "host is required") }
        let url = try ChannelsController.validURL(relayURL, field: "relay_url")
        guard URL(string: url)?.host?.lowercased() == host.lowercased() else {
            throw Problem(.unprocessableContent, "relay_url must name the node's host (\(host))")
        }
        return (host, url)
    }
}

/// A node as `/api/nodes` shows it: where its traffic goes now, never its relay key.
struct NodeView: Encodable {
    let id: Int64
    let name: String
    let host: String
    let expectedIP: String
    let relayURL: String
    let relayKeyFingerprint: String
    let status: String
    let useHostname: Bool
    let trafficURL: String
    let healthFailures: Int
    let dnsAddresses: [String]
    let lastError: String?
    let lastCheckedAt: Int64?

    enum CodingKeys: String, CodingKey {
        case id, name, host, status
        case expectedIP = "expected_ip"
        case relayURL = "relay_url"
        case relayKeyFingerprint = "relay_key_fingerprint"
        case useHostname = "use_hostname"
        case trafficURL = "traffic_url"
        case healthFailures = "health_failures"
        case dnsAddresses = "dns_addresses"
        case lastError = "last_error"
        case lastCheckedAt = "last_checked_at"
    }

    init(_ node: ExitNode) {
        id = node.id!
        name = node.name
        host = node.host
        expectedIP = node.expectedIP
        relayURL = node.relayURL
        relayKeyFingerprint = node.relayKeyFingerprint
        status = node.status.rawValue
        useHostname = node.useHostname
        trafficURL = node.trafficURL
        healthFailures = node.healthFailures
        dnsAddresses = node.dnsAddresses
        lastError = node.lastError
        lastCheckedAt = node.lastCheckedAt
    }
}
