import Artifacts
import Foundation
import Store

/// `artifacts/batch-import/<stamp>_<run_id>/summary.json`: what a run did, per item, for operators and scripts.
/// Its JSON Schema is `artifacts/schema/batch-import.schema.json`. Keys appear as fingerprints only.
public struct ImportSummary: Codable, Sendable {
    public static let kind = "batch-import"
    public static let schemaVersion = 1

    public var schemaVersion: Int
    public var kind: String
    public var runId: String
    public var state: String
    public var createdAt: String
    public var startedAt: String?
    public var finishedAt: String
    public var options: ImportOptions
    public var counts: Counts
    public var items: [Item]

    public struct Counts: Codable, Sendable, Equatable {
        public var total: Int
        public var succeeded: Int
        public var failed: Int
        public var cancelled: Int
        public var byOutcome: [String: Int]
        public var byFailureClass: [String: Int]

        enum CodingKeys: String, CodingKey {
            case total, succeeded, failed, cancelled
            case byOutcome = "by_outcome"
            case byFailureClass = "by_failure_class"
        }
    }

    public struct Item: Codable, Sendable {
        public var index: Int
        public var host: String
        public var provider: String?
        public var keyFingerprint: String
        public var outcome: String
        /// The item's end in the run: `succeeded`, `failed` or `cancelled`.
        public var batchStatus: String
        /// The direct probe: `ok`, its classification, or `not_reached` (cancelled before it ran).
        public var providerStatus: String
        /// Through the gateway: `confirmed`, `skipped` (dry run), `not_reached` or the failure's classification.
        public var accessStatus: String
        /// The HTTP status of the one-token chat sent straight to the upstream; nil when it was never sent or got
        /// no HTTP answer.
        public var directChatStatus: Int?
        /// The HTTP status of the same chat through the gateway (the confirmation); nil when it never ran.
        public var upstreamChatStatus: Int?
        public var channelId: Int64?
        public var models: [String]
        public var smokeModel: String?
        public var capabilities: ChannelCapabilities?
        public var attempts: Int
        /// `ok` or what went wrong (`auth_failed`, `rate_limited`, `host_compatibility_gap`, …).
        public var classification: String
        /// The operator's question, answered: `none`, `host_compatibility_gap` (works directly, not through the
        /// gateway), `upstream_key_quota` (the upstream refuses the key or is out of quota), `auth`, `reachability`,
        /// `model_missing`, `incompatible` or `cancelled`.
        public var failureClass: String
        public var detail: String?

        enum CodingKeys: String, CodingKey {
            case index, host, provider, outcome, models, capabilities, attempts, classification, detail
            case keyFingerprint = "key_fingerprint"
            case batchStatus = "batch_status"
            case providerStatus = "provider_status"
            case accessStatus = "access_status"
            case directChatStatus = "direct_chat_status"
            case upstreamChatStatus = "upstream_chat_status"
            case channelId = "channel_id"
            case smokeModel = "smoke_model"
            case failureClass = "failure_class"
        }

        init(_ item: ImportItem) {
            index = item.index
            host = item.host
            provider = item.provider
            keyFingerprint = item.keyFingerprint
            outcome = item.outcome?.rawValue ?? "failed"
            batchStatus = item.state.rawValue
            classification = item.classification ?? "ok"
            providerStatus = item.providerStatus ?? (item.outcome == .cancelled ? "not_reached" : classification)
            accessStatus = item.accessStatus ?? "not_reached"
            // A probe that failed at its chat step recorded the status in its trail only; 0 is "no HTTP answer".
            directChatStatus = (item.directChatStatus ?? item.trail.last { $0.phase == "probe" && $0.step == "chat" }?.status)
                .flatMap { $0 > 0 ? $0 : nil }
            upstreamChatStatus = item.upstreamChatStatus.flatMap { $0 > 0 ? $0 : nil }
            channelId = item.channelId
            models = item.models ?? []
            smokeModel = item.smokeModel
            capabilities = item.capabilities
            attempts = item.attempts
            failureClass = Self.failureClass(classification)
            detail = item.detail
        }

        /// Every key, `null` where a field does not apply (synthesized coding would leave it out): a script reads
        /// the same fields from every item, however early it stopped.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(index, forKey: .index)
            try container.encode(host, forKey: .host)
            try container.encode(provider, forKey: .provider)
            try container.encode(keyFingerprint, forKey: .keyFingerprint)
            try container.encode(outcome, forKey: .outcome)
            try container.encode(batchStatus, forKey: .batchStatus)
            try container.encode(providerStatus, forKey: .providerStatus)
            try container.encode(accessStatus, forKey: .accessStatus)
            try container.encode(directChatStatus, forKey: .directChatStatus)
            try container.encode(upstreamChatStatus, forKey: .upstreamChatStatus)
            try container.encode(channelId, forKey: .channelId)
            try container.encode(models, forKey: .models)
            try container.encode(smokeModel, forKey: .smokeModel)
            try container.encode(capabilities.map(ChannelCapabilities.Report.init), forKey: .capabilities)
            try container.encode(attempts, forKey: .attempts)
            try container.encode(classification, forKey: .classification)
            try container.encode(failureClass, forKey: .failureClass)
            try container.encode(detail, forKey: .detail)
        }

        static func failureClass(_ classification: String) -> String {
            switch classification {
            case "ok": "none"
            case "host_compatibility_gap": "host_compatibility_gap"
            case "forbidden", "rate_limited": "upstream_key_quota"
            case "auth_failed": "auth"
            case "timeout", "unreachable", "warming_up": "reachability"
            case "model_missing": "model_missing"
            case "cancelled": "cancelled"
            default: "incompatible"
            }
        }
    }

    enum CodingKeys: String, CodingKey {
        case kind, state, options, counts, items
        case schemaVersion = "schema_version"
        case runId = "run_id"
        case createdAt = "created_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
    }

    /// Every key, `started_at` `null` for a run no item of which ever started.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(schemaVersion, forKey: .schemaVersion)
        try container.encode(kind, forKey: .kind)
        try container.encode(runId, forKey: .runId)
        try container.encode(state, forKey: .state)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(finishedAt, forKey: .finishedAt)
        try container.encode(options, forKey: .options)
        try container.encode(counts, forKey: .counts)
        try container.encode(items, forKey: .items)
    }

    init(run: ImportRun, state: ImportRun.State, items: [ImportItem], finishedAt: Int64) {
        schemaVersion = Self.schemaVersion
        kind = Self.kind
        runId = run.id
        self.state = state.rawValue
        createdAt = ArtifactWriter.iso(run.createdAt)
        startedAt = run.startedAt.map(ArtifactWriter.iso)
        self.finishedAt = ArtifactWriter.iso(finishedAt)
        options = run.options
        self.items = items.map(Item.init)
        counts = Self.count(self.items)
    }

    static func count(_ items: [Item]) -> Counts {
        Counts(total: items.count,
               succeeded: items.filter { $0.batchStatus == "succeeded" }.count,
               failed: items.filter { $0.batchStatus == "failed" }.count,
               cancelled: items.filter { $0.batchStatus == "cancelled" }.count,
               byOutcome: Dictionary(grouping: items, by: \.outcome).mapValues(\.count),
               byFailureClass: Dictionary(grouping: items.filter { $0.failureClass != "none" }, by: \.failureClass).mapValues(\.count))
    }

    /// The counts recomputed from the items, for `artifacts verify`: nil when they agree, else what differs.
    public func countMismatch() -> String? {
        let recomputed = Self.count(items)
        if recomputed != counts { return "counts do not match the items" }
        if counts.succeeded + counts.failed + counts.cancelled != counts.total { return "succeeded + failed + cancelled != total" }
        if counts.byOutcome.values.reduce(0, +) != counts.total { return "outcomes do not add up to total" }
        return nil
    }
}

extension ImportSummary {
    /// The artifact verifier with every kind's extra check: an import's counts recomputed from its items.
    public static func verifier(schemaDirs: [String]) -> ArtifactVerifier {
        ArtifactVerifier(schemaDirs: schemaDirs, checks: [
            kind: { data in try JSONDecoder().decode(ImportSummary.self, from: data).countMismatch() },
        ])
    }
}
