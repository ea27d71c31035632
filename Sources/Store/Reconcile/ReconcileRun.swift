import Foundation

/// One reconcile run: every channel's stored truth compared with its upstream's, fixed unless a dry run.
public struct ReconcileRun: Codable, Sendable, Equatable, StoreRecord {
    public static let databaseTableName = "reconcile_runs"

    public enum State: String, Codable, Sendable, CaseIterable {
        case queued, running, succeeded, failed

        public var isFinal: Bool { self == .succeeded || self == .failed }
    }

    /// Who asked for the run: `POST /api/reconcile/runs` or the periodic schedule.
    public enum Trigger: String, Codable, Sendable { case api, schedule }

    public var id: String
    public var state: State
    public var dryRun: Bool
    public var trigger: Trigger
    public var jobId: Int64?
    public var total: Int
    public var artifactPath: String?
    public var error: String?
    public var createdAt: Int64
    public var startedAt: Int64?
    public var finishedAt: Int64?

    enum CodingKeys: String, CodingKey {
        case id, state, trigger, total, error
        case dryRun = "dry_run"
        case jobId = "job_id"
        case artifactPath = "artifact_path"
        case createdAt = "created_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
    }

    public init(id: String = ReconcileRun.newID(), dryRun: Bool, trigger: Trigger, jobId: Int64? = nil, now: Int64) {
        self.id = id
        self.state = .queued
        self.dryRun = dryRun
        self.trigger = trigger
        self.jobId = jobId
        self.total = 0
        self.createdAt = now
    }

    /// `rec_` + 16 random hex digits: unguessable, safe in paths.
    public static func newID() -> String {
        "rec_" + (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }
}

/// What a reconcile found for one channel. When several apply, the first in `precedence` is reported (the
/// fix applies all of them; `detail` names the rest).
public enum Drift: String, Codable, Sendable, CaseIterable {
    case inSync = "in_sync"
    case modelsAdded = "models_added"
    case modelsRemoved = "models_removed"
    case authFailed = "auth_failed"
    case unreachable
    case capabilityChanged = "capability_changed"
    case reEnabled = "re_enabled"
    case disabled

    /// Highest first: an operator's `disabled` (not even probed), then what keeps the upstream from being
    /// checked (`unreachable`, `auth_failed`), then a status change (`re_enabled`), then what breaks requests
    /// (`models_removed`) before what only widens them (`models_added`), then `capability_changed`.
    public static let precedence: [Drift] = [
        .disabled, .unreachable, .authFailed, .reEnabled, .modelsRemoved, .modelsAdded, .capabilityChanged, .inSync,
    ]
}

/// The part of a channel a reconcile compares and may change, as recorded before and after.
public struct ChannelSnapshot: Codable, Sendable, Equatable {
    public var models: [String]
    public var modelMapping: [String: String]
    public var status: RelayChannel.Status
    public var statusReason: String?
    public var capabilities: ChannelCapabilities?

    enum CodingKeys: String, CodingKey {
        case models, status, capabilities
        case modelMapping = "model_mapping"
        case statusReason = "status_reason"
    }

    public init(_ channel: RelayChannel) {
        models = channel.models
        modelMapping = channel.modelMapping
        status = channel.status
        statusReason = channel.statusReason
        capabilities = channel.capabilities
    }

    /// Every key, `null` where there is nothing (reconcile artifacts show snapshots; a script reads the same keys
    /// from each).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(models, forKey: .models)
        try container.encode(modelMapping, forKey: .modelMapping)
        try container.encode(status, forKey: .status)
        try container.encode(statusReason, forKey: .statusReason)
        try container.encode(capabilities.map(ChannelCapabilities.Report.init), forKey: .capabilities)
    }
}
