import Foundation
import Store

/// A run as `/api/batch-import/runs` shows it: state, counts by state and outcome, progress and links.
struct ImportRunView: Encodable {
    let runId: String
    let state: String
    let options: ImportOptions
    let total: Int
    let progress: Progress
    let counts: Counts
    let createdAt: Int64
    let startedAt: Int64?
    let finishedAt: Int64?
    let artifactPath: String?
    let links: [String: String]

    struct Progress: Encodable {
        let done: Int
        let remaining: Int
        let percent: Int
    }

    struct Counts: Encodable {
        let byState: [String: Int]
        let byOutcome: [String: Int]
        enum CodingKeys: String, CodingKey { case byState = "by_state", byOutcome = "by_outcome" }
    }

    enum CodingKeys: String, CodingKey {
        case state, options, total, progress, counts, links
        case runId = "run_id"
        case createdAt = "created_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case artifactPath = "artifact_path"
    }

    init(_ run: ImportRun, states: [String: Int] = [:], outcomes: [String: Int] = [:]) {
        runId = run.id
        state = run.state.rawValue
        options = run.options
        total = run.total
        let done = ["succeeded", "failed", "cancelled"].reduce(0) { $0 + (states[$1] ?? 0) }
        progress = Progress(done: done, remaining: run.total - done, percent: run.total == 0 ? 100 : done * 100 / run.total)
        counts = Counts(byState: states, byOutcome: outcomes)
        createdAt = run.createdAt
        startedAt = run.startedAt
        finishedAt = run.finishedAt
        artifactPath = run.artifactPath
        links = Self.links(run.id)
    }

    static func links(_ id: String) -> [String: String] {
        let base = "/api/batch-import/runs/\(id)"
        return ["self": base, "items": base + "/items", "events": base + "/events", "artifact": base + "/artifact",
                "cancel": base + "/cancel", "rollback": base + "/rollback"]
    }
}

/// The 202 answer to a new run.
struct ImportCreatedView: Encodable {
    let runId: String
    let state: String
    let items: Int
    let links: [String: String]
    enum CodingKeys: String, CodingKey { case state, items, links, runId = "run_id" }
}

/// An item with its trail; the key only as a fingerprint.
struct ImportItemView: Encodable {
    let index: Int
    let host: String
    let baseURL: String
    let provider: String?
    let keyFingerprint: String
    let state: String
    let outcome: String?
    let plannedOutcome: String?
    let classification: String?
    let channelId: Int64?
    let models: [String]?
    let smokeModel: String?
    let capabilities: ChannelCapabilities?
    let providerStatus: String?
    let accessStatus: String?
    let directChatStatus: Int?
    let upstreamChatStatus: Int?
    let attempts: Int
    let trail: [TrailEntry]
    let detail: String?

    enum CodingKeys: String, CodingKey {
        case index, host, provider, state, outcome, classification, models, capabilities, attempts, trail, detail
        case baseURL = "base_url"
        case keyFingerprint = "key_fingerprint"
        case plannedOutcome = "planned_outcome"
        case channelId = "channel_id"
        case smokeModel = "smoke_model"
        case providerStatus = "provider_status"
        case accessStatus = "access_status"
        case directChatStatus = "direct_chat_status"
        case upstreamChatStatus = "upstream_chat_status"
    }

    init(_ item: ImportItem) {
        index = item.index
        host = item.host
        baseURL = item.baseURL
        provider = item.provider
        keyFingerprint = item.keyFingerprint
        state = item.state.rawValue
        outcome = item.outcome?.rawValue
        plannedOutcome = item.plannedOutcome?.rawValue
        classification = item.classification
        channelId = item.channelId
        models = item.models
        smokeModel = item.smokeModel
        capabilities = item.capabilities
        providerStatus = item.providerStatus
        accessStatus = item.accessStatus
        directChatStatus = item.directChatStatus
        upstreamChatStatus = item.upstreamChatStatus
        attempts = item.attempts
        trail = item.trail
        detail = item.detail
    }
}

/// `…/rollback`'s answer and artifact (`artifacts/batch-import-rollback/…/summary.json`).
struct RollbackSummary: Codable, Sendable {
    static let kind = "batch-import-rollback"
    let schemaVersion: Int
    let kind: String
    let runId: String
    let dryRun: Bool
    let at: Int64
    let rolledBack: Int
    let conflicts: Int
    let entries: [ImportRollback.Entry]

    enum CodingKeys: String, CodingKey {
        case kind, at, conflicts, entries
        case schemaVersion = "schema_version"
        case runId = "run_id"
        case dryRun = "dry_run"
        case rolledBack = "rolled_back"
    }

    init(runId: String, dryRun: Bool, at: Int64, entries: [ImportRollback.Entry]) {
        schemaVersion = 1
        kind = Self.kind
        self.runId = runId
        self.dryRun = dryRun
        self.at = at
        self.entries = entries
        rolledBack = entries.filter { $0.result == "rolled_back" || $0.result == "would_roll_back" }.count
        conflicts = entries.filter { $0.result == "conflict" }.count
    }
}
