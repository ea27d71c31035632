import Foundation
import GRDB
import HummingbirdTesting
import MockUpstream
@_spi(Engine) import Store
import Testing

/// What reconcile tests add to the live-gateway fixture: channels stored as an operator or an import left them,
/// runs started over HTTP and awaited, and the channel rows as stored.
extension ImportFixture {
    /// The capability profile the mock upstream answers with (everything works).
    public static let fullProfile = ChannelCapabilities(chat: true, streaming: true, tools: true, responses: true, anthropicMessages: true,
                                                 model: "gpt-4o-mini")

    /// Inserts a channel for `key` on the mock (or `baseURL`); returns its id.
    public func channel(_ key: String, models: [String] = MockScript.defaultModels, status: RelayChannel.Status = .enabled,
                 baseURL: String? = nil, mapping: [String: String] = [:],
                 capabilities: ChannelCapabilities? = ImportFixture.fullProfile) async throws -> Int64 {
        var channel = RelayChannel(name: "ch-\(key.suffix(6))", type: .openai, baseURL: baseURL ?? mock.baseURL,
                                   apiKeySealed: try env.secrets.seal(key), keyFingerprint: Fingerprint.of(key), models: models,
                                   modelMapping: mapping, priority: 0, weight: 1, status: status, now: 1)
        channel.provider = "mock"
        channel.capabilities = capabilities
        if status == .autoDisabled { channel.statusReason = "5 consecutive failures" }
        let stored = channel
        return try await db.write { db in
            var row = stored
            try row.insert(db)
            return row.id!
        }
    }

    /// Every channel row by id, as stored.
    public func channelRows() async throws -> [Int64: RelayChannel] {
        try await db.read { db in
            Dictionary(uniqueKeysWithValues: try RelayChannel.fetchAll(db).map { ($0.id!, $0) })
        }
    }

    /// Starts a reconcile over HTTP (202) and polls it until it ends; returns the run as `GET …/{id}` shows it.
    public func reconciled(_ client: any TestClientProtocol, dryRun: Bool = false, timeout: Duration = .seconds(60),
                    sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any] {
        let created = try await api(client, .post, "/api/reconcile/runs", ["dry_run": dryRun], expect: .accepted,
                                    sourceLocation: sourceLocation)
        let id = try #require(created["run_id"] as? String, sourceLocation: sourceLocation)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let run = try await api(client, .get, "/api/reconcile/runs/\(id)")
            if ["succeeded", "failed"].contains(run["state"] as? String) { return run }
            try await Task.sleep(for: .milliseconds(25))
        }
        Issue.record("reconcile run \(id) did not end in \(timeout)", sourceLocation: sourceLocation)
        return try await api(client, .get, "/api/reconcile/runs/\(id)")
    }

    /// A run's results keyed by channel id.
    public static func results(_ run: [String: Any]) -> [Int64: [String: Any]] {
        let rows = run["results"] as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: rows.compactMap { row in (row["channel_id"] as? Int64).map { ($0, row) } })
    }
}
