import Foundation
import Hummingbird
import Probe
import Scheduler
import Store

/// `/api/channels`: upstream channels; keys sealed at rest and never returned.
struct ChannelsController {
    let db: AppDatabase
    let secrets: SecretBox
    let state: GatewayState
    /// Makes the channel test's call.
    let probe: ProbeClient
    let runs: ImportRepository
    let clock: any WallClock

    func register(on group: RouterGroup<GatewayContext>) {
        group.post("channels", use: create)
        group.get("channels", use: list)
        group.get("channels/:id", use: show)
        group.patch("channels/:id", use: update)
        group.delete("channels/:id", use: delete)
        group.post("channels/:id/test", use: test)
    }

    @Sendable func create(_ request: Request, context: GatewayContext) async throws -> Response {
        let input = try await request.decode(as: ChannelInput.self, context: context)
        guard let name = input.name, !name.isEmpty else { throw Problem(.unprocessableContent, "name is required") }
        guard let apiKey = input.apiKey, !apiKey.isEmpty else { throw Problem(.unprocessableContent, "api_key is required") }
        try Self.checkKey(apiKey)
        let type = try Self.kind(input.type ?? "openai")
        let baseURL = try Self.validURL(input.baseURL)
        let new = RelayChannel(
            name: name, type: type, baseURL: baseURL, apiKeySealed: try secrets.seal(apiKey),
            keyFingerprint: Fingerprint.of(apiKey), models: input.models ?? [], modelMapping: input.modelMapping ?? [:],
            priority: input.priority ?? 0, weight: try Self.weight(input.weight ?? 1), status: try Self.status(input.status ?? "enabled"),
            now: clock.nowMillis())
        var bound = new
        bound.nodeId = try await node(input.nodeId)
        let channel = try await db.createChannel(bound)
        try await state.reload()
        return try json(ChannelView(channel), status: .created)
    }

    @Sendable func list(_ request: Request, context: GatewayContext) async throws -> Response {
        let page = try PageRequest(request)
        let (items, next) = page.page(try await db.channels(page.store)) { $0.id! }
        return try json(PageView(data: items.map(ChannelView.init), nextCursor: next))
    }

    @Sendable func show(_ request: Request, context: GatewayContext) async throws -> Response {
        try json(ChannelView(try await fetch(try idParameter(context))))
    }

    @Sendable func update(_ request: Request, context: GatewayContext) async throws -> Response {
        let id = try idParameter(context)
        let input = try await request.decode(as: ChannelInput.self, context: context)
        var channel = try await fetch(id)
        if let name = input.name { channel.name = name }
        if let type = input.type { channel.type = try Self.kind(type) }
        if let baseURL = input.baseURL { channel.baseURL = try Self.validURL(baseURL) }
        if let apiKey = input.apiKey {
            guard !apiKey.isEmpty else { throw Problem(.unprocessableContent, "api_key must not be empty") }
            try Self.checkKey(apiKey)
            channel.apiKeySealed = try secrets.seal(apiKey)
            channel.keyFingerprint = Fingerprint.of(apiKey)
        }
        if let models = input.models { channel.models = models }
        if let mapping = input.modelMapping { channel.modelMapping = mapping }
        if input.nodeId != nil { channel.nodeId = try await node(input.nodeId) }
        if let priority = input.priority { channel.priority = priority }
        if let weight = input.weight { channel.weight = try Self.weight(weight) }
        if let status = input.status {
            channel.status = try Self.status(status)
            channel.statusReason = channel.status == .disabled ? "disabled by operator" : nil
            channel.failureStreak = 0
        }
        channel.updatedAt = clock.nowMillis()
        let updated = channel
        try await db.updateChannel(updated)
        try await state.reload()
        return try json(ChannelView(updated))
    }

    @Sendable func delete(_ request: Request, context: GatewayContext) async throws -> Response {
        let id = try idParameter(context)
        if let run = try await runs.runHolding(channelId: id) {
            throw Problem(.conflict, "channel \(id) is in use by batch import run \(run), which has not finished", type: "in_use")
        }
        guard try await db.deleteChannel(id) else { throw Problem(.notFound, "channel \(id) not found") }
        try await state.reload()
        return Response(status: .noContent)
    }

    /// Makes a real, minimal call through the channel (`Probe`'s one-token chat, or its messages call for an
    /// Anthropic-type channel) and reports status and latency.
    @Sendable func test(_ request: Request, context: GatewayContext) async throws -> Response {
        let channel = try await fetch(try idParameter(context))
        let key = try secrets.openString(channel.apiKeySealed)
        guard let model = channel.models.first ?? channel.modelMapping.keys.first else {
            throw Problem(.unprocessableContent, "channel \(channel.id!) lists no model to test with")
        }
        let upstreamModel = channel.upstreamModel(for: model)
        let step = switch channel.type {
        case .openai: await probe.chat(baseURL: channel.baseURL, key: key, model: upstreamModel)
        case .anthropic: await probe.messages(baseURL: channel.baseURL, key: key, model: upstreamModel)
        }
        let ok = (200..<300).contains(step.status)
        var result: [String: Any] = ["channel_id": channel.id!, "model": model, "status": step.status, "ok": ok, "latency_ms": step.latencyMs]
        if step.status == 0 {
            result["error"] = "cannot reach the upstream"
        } else if !ok {
            // The probe's detail is the upstream's own (redacted) message, or just "HTTP <status>" when it gave none.
            let message = step.detail.flatMap { $0 == "HTTP \(step.status)" ? nil : ": \($0)" } ?? ""
            result["error"] = "upstream answered \(step.status)" + message
        }
        return jsonResponse(.ok, result)
    }

    /// The node a channel is bound to: nil for none (or 0), 422 for a node that does not exist.
    private func node(_ id: Int64?) async throws -> Int64? {
        guard let id, id != 0 else { return nil }
        guard try await db.nodeExists(id) else {
            throw Problem(.unprocessableContent, "node_id \(id) does not exist")
        }
        return id
    }

    private func fetch(_ id: Int64) async throws -> RelayChannel {
        guard let channel = try await db.channel(id) else {
            throw Problem(.notFound, "channel \(id) not found")
        }
        return channel
    }

    static func kind(_ raw: String) throws -> RelayChannel.Kind {
        guard let kind = RelayChannel.Kind(rawValue: raw) else { throw Problem(.unprocessableContent, "type must be openai or anthropic") }
        return kind
    }

    static func status(_ raw: String) throws -> RelayChannel.Status {
        guard let status = RelayChannel.Status(rawValue: raw) else {
            throw Problem(.unprocessableContent, "status must be one of \(RelayChannel.Status.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return status
    }

    /// The key is sent in a header: printable ASCII without spaces (never echoed back, it may be a real secret).
    static func checkKey(_ key: String) throws {
        guard UpstreamText.isHeaderSafe(key) else {
            throw Problem(.unprocessableContent, "api_key must be printable ASCII without spaces or control characters")
        }
    }

    static func weight(_ value: Int) throws -> Int {
        guard value >= 0 else { throw Problem(.unprocessableContent, "weight must not be negative") }
        return value
    }

    static func validURL(_ raw: String?, field: String = "base_url") throws -> String {
        guard let raw, let url = URL(string: raw), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
              url.host?.isEmpty == false else {
            throw Problem(.unprocessableContent, "\(field) must be an http(s) URL")
        }
        return raw
    }
}
