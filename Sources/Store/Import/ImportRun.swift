import Foundation

/// The knobs of one batch import, stored with the run.
public struct ImportOptions: Codable, Sendable, Equatable {
    /// Items of this run probed at the same time.
    public var concurrency: Int
    /// Seconds between provisioning a channel and confirming it through the gateway.
    public var confirmDelayS: Int
    /// Seconds inside which transient failures are retried.
    public var retryWindowS: Int
    /// Attempts per item phase (probe, confirmation) before it fails.
    public var maxAttempts: Int
    /// Probe and decide, but change no channel.
    public var dryRun: Bool
    /// Items started per second at most (0: no pace), so an import leaves the machine to the gateway's traffic
    /// and does not hammer one provider.
    public var ratePerS: Int

    enum CodingKeys: String, CodingKey {
        case concurrency
        case confirmDelayS = "confirm_delay_s"
        case retryWindowS = "retry_window_s"
        case maxAttempts = "max_attempts"
        case dryRun = "dry_run"
        case ratePerS = "rate_per_s"
    }

    public static let defaultRate = 25

    public init(concurrency: Int = 8, confirmDelayS: Int = 5, retryWindowS: Int = 600, maxAttempts: Int = 6, dryRun: Bool = false,
                ratePerS: Int = ImportOptions.defaultRate) {
        self.ratePerS = ratePerS
        self.concurrency = concurrency
        self.confirmDelayS = confirmDelayS
        self.retryWindowS = retryWindowS
        self.maxAttempts = maxAttempts
        self.dryRun = dryRun
    }
}

/// One batch import: its state, options and where its artifact went.
public struct ImportRun: Codable, Sendable, Equatable, StoreRecord {
    public static let databaseTableName = "import_runs"

    public enum State: String, Codable, Sendable, CaseIterable {
        case queued, running, succeeded, cancelled, failed
        case partiallySucceeded = "partially_succeeded"

        public var isFinal: Bool { ![.queued, .running].contains(self) }
    }

    public var id: String
    public var state: State
    public var options: ImportOptions
    public var idempotencyKey: String?
    public var requestDigest: String
    public var total: Int
    public var search: String
    public var artifactPath: String?
    public var createdAt: Int64
    public var startedAt: Int64?
    public var finishedAt: Int64?
    public var nextStartAt: Int64

    enum CodingKeys: String, CodingKey {
        case id, state, options, total, search
        case idempotencyKey = "idempotency_key"
        case requestDigest = "request_digest"
        case artifactPath = "artifact_path"
        case createdAt = "created_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case nextStartAt = "next_start_at"
    }

    public init(id: String, options: ImportOptions, idempotencyKey: String?, requestDigest: String, total: Int, search: String, now: Int64) {
        self.id = id
        self.state = .queued
        self.options = options
        self.idempotencyKey = idempotencyKey
        self.requestDigest = requestDigest
        self.total = total
        self.search = search
        self.createdAt = now
        self.nextStartAt = 0
    }

    /// `run_` + 16 random hex digits: unguessable, safe in paths.
    public static func newID() -> String {
        "run_" + (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }
}
