import Foundation
import Scheduler

/// A change a run made to a channel, with the channel as it was before (for rollback) and a digest of the
/// channel as the run left it (so a rollback can tell whether someone changed it since).
public struct ImportChange: Codable, Sendable, Equatable, IdentifiedRecord {
    public static let databaseTableName = "import_changes"

    public enum Action: String, Codable, Sendable { case created, patched, replaced, reactivated }

    public var id: Int64?
    public var runId: String
    public var itemIndex: Int
    public var channelId: Int64
    public var action: Action
    public var before: RelayChannel?
    public var afterDigest: String
    public var rolledBackAt: Int64?

    enum CodingKeys: String, CodingKey {
        case id, action, before
        case runId = "run_id"
        case itemIndex = "item_index"
        case channelId = "channel_id"
        case afterDigest = "after_digest"
        case rolledBackAt = "rolled_back_at"
    }

    public init(runId: String, itemIndex: Int, channelId: Int64, action: Action, before: RelayChannel?, after: RelayChannel) {
        self.runId = runId
        self.itemIndex = itemIndex
        self.channelId = channelId
        self.action = action
        self.before = before
        self.afterDigest = after.digest
    }

}

extension RelayChannel {
    /// SHA-256 of what an operator (or a run) sets: changes to it mean "someone else touched this channel".
    /// The failure streak and timestamps are left out, since traffic moves them.
    public var digest: String {
        struct Content: Encodable {
            let name: String, type: String, baseURL: String, keyFingerprint: String, models: [String]
            let mapping: [String: String], priority: Int, weight: Int, status: String
            let provider: String?, family: String?, capabilities: ChannelCapabilities?
        }
        let content = Content(name: name, type: type.rawValue, baseURL: baseURL, keyFingerprint: keyFingerprint, models: models,
                              mapping: modelMapping, priority: priority, weight: weight, status: status.rawValue,
                              provider: provider, family: family, capabilities: capabilities)
        return Fingerprint.sha256Hex(String(decoding: (try? JSONEncoder.sortedKeys.encode(content)) ?? Data(), as: UTF8.self))
    }
}
