import Foundation

/// One channel's line in a reconcile run: pending (`drift == nil`) until its upstream was checked.
public struct ReconcileResult: Codable, Sendable, Equatable, StoreRecord {
    public static let databaseTableName = "reconcile_results"
    public static let primaryKey = ["run_id", "channel_id"]

    public var runId: String
    public var channelId: Int64
    public var name: String
    public var provider: String?
    public var keyFingerprint: String
    public var drift: Drift?
    /// Whether the fix was written (false for a dry run, an in-sync channel, or nothing to change).
    public var applied: Bool
    public var before: ChannelSnapshot
    /// The channel after the fix (or as a dry run would have left it).
    public var after: ChannelSnapshot?
    /// A short reason, never carrying the key.
    public var detail: String?
    public var finishedAt: Int64?

    enum CodingKeys: String, CodingKey {
        case name, provider, drift, applied, before, after, detail
        case runId = "run_id"
        case channelId = "channel_id"
        case keyFingerprint = "key_fingerprint"
        case finishedAt = "finished_at"
    }

    /// A pending line for `channel`.
    public init(runId: String, channel: RelayChannel) {
        self.runId = runId
        self.channelId = channel.id!
        self.name = channel.name
        self.provider = channel.provider
        self.keyFingerprint = channel.keyFingerprint
        self.applied = false
        self.before = ChannelSnapshot(channel)
    }
}
