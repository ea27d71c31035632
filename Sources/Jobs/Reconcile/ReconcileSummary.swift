import Foundation
import Store

/// `artifacts/reconcile.run/<stamp>_<run id>/summary.json` (schema: `artifacts/schema/reconcile.run.schema.json`).
/// Channels carry their key's fingerprint only.
public struct ReconcileSummary: Codable, Sendable {
    public var schemaVersion = 1
    public var kind = ReconcileJobs.run.name
    public var runId: String
    public var jobId: Int64
    public var dryRun: Bool
    public var trigger: String
    public var createdAt: Int64
    public var startedAt: Int64
    public var finishedAt: Int64
    /// Channels by drift kind; every kind is present (0 when none).
    public var counts: [String: Int]
    /// The drift kinds from most to least important; a channel reports the first that applies.
    public var precedence: [String]
    public var channels: [Channel]

    /// One channel's result.
    public struct Channel: Codable, Sendable {
        public var id: Int64
        public var name: String
        public var provider: String?
        public var keyFingerprint: String
        public var drift: String
        public var applied: Bool
        public var before: ChannelSnapshot
        public var after: ChannelSnapshot
        public var detail: String?

        enum CodingKeys: String, CodingKey {
            case id, name, provider, drift, applied, before, after, detail
            case keyFingerprint = "key_fingerprint"
        }

        /// Every key, `null` where there is nothing (no provider, nothing to add).
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(name, forKey: .name)
            try container.encode(provider, forKey: .provider)
            try container.encode(keyFingerprint, forKey: .keyFingerprint)
            try container.encode(drift, forKey: .drift)
            try container.encode(applied, forKey: .applied)
            try container.encode(before, forKey: .before)
            try container.encode(after, forKey: .after)
            try container.encode(detail, forKey: .detail)
        }
    }

    enum CodingKeys: String, CodingKey {
        case kind, trigger, counts, precedence, channels
        case schemaVersion = "schema_version"
        case runId = "run_id"
        case jobId = "job_id"
        case dryRun = "dry_run"
        case createdAt = "created_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
    }

    public init(run: ReconcileRun, jobId: Int64, finishedAt: Int64, results: [ReconcileResult]) {
        runId = run.id
        self.jobId = jobId
        dryRun = run.dryRun
        trigger = run.trigger.rawValue
        createdAt = run.createdAt
        startedAt = run.startedAt ?? run.createdAt
        self.finishedAt = finishedAt
        precedence = Drift.precedence.map(\.rawValue)
        channels = results.compactMap { result in
            guard let drift = result.drift else { return nil }
            return Channel(id: result.channelId, name: result.name, provider: result.provider, keyFingerprint: result.keyFingerprint,
                           drift: drift.rawValue, applied: result.applied, before: result.before, after: result.after ?? result.before,
                           detail: result.detail)
        }
        var counts = Dictionary(uniqueKeysWithValues: Drift.allCases.map { ($0.rawValue, 0) })
        for channel in channels { counts[channel.drift, default: 0] += 1 }
        self.counts = counts
    }
}
