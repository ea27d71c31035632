import Artifacts
import Foundation
import Logging
import Probe
import Scheduler
import Store
import Synchronization

/// Where the confirmation step reaches the gateway: its base URL (known once the server listens, since the
/// port may be 0) and the admin token that lets a request pin one channel.
public final class GatewayEndpoint: Sendable {
    private let url: Mutex<String?>
    public let adminToken: String

    public init(url: String?, adminToken: String) {
        self.url = Mutex(url)
        self.adminToken = adminToken
    }

    public var baseURL: String? { url.withLock { $0 } }

    /// Called when the server is listening (and for `--gateway-url`).
    public func set(_ value: String) { url.withLock { $0 = value } }
}

/// What the import jobs share: the store, the catalog, the probe client, the gateway, the artifact writer.
public struct ImportEnvironment: Sendable {
    public let runs: ImportRepository
    public let secrets: SecretBox
    public let catalog: ProviderCatalog
    public let probe: ProbeClient
    public let gateway: GatewayEndpoint
    public let artifacts: ArtifactWriter
    /// Whether loopback and private upstreams may be imported (tests, labs).
    public let allowPrivate: Bool
    /// How long a 403 is given before the one retry it gets (a fresh key can answer 403 for a moment).
    public let forbiddenRetryDelay: Duration
    /// How long a probing item holds a slot of its run's concurrency if its worker dies.
    public let slotTTL: Duration
    /// The first retry's delay after a transient failure; it doubles per attempt (capped at a minute).
    public let retryBase: Duration

    public init(runs: ImportRepository, secrets: SecretBox, catalog: ProviderCatalog, probe: ProbeClient = ProbeClient(),
                gateway: GatewayEndpoint, artifacts: ArtifactWriter, allowPrivate: Bool,
                forbiddenRetryDelay: Duration = .seconds(2), slotTTL: Duration = .seconds(120), retryBase: Duration = .seconds(1)) {
        self.retryBase = retryBase
        self.runs = runs
        self.secrets = secrets
        self.catalog = catalog
        self.probe = probe
        self.gateway = gateway
        self.artifacts = artifacts
        self.allowPrivate = allowPrivate
        self.forbiddenRetryDelay = forbiddenRetryDelay
        self.slotTTL = slotTTL
    }

    var db: AppDatabase { runs.db }
    var clock: any WallClock { runs.clock }

    /// The three import kinds.
    public var handlers: [any JobHandler] { [ImportItemJob(env: self), ImportConfirmJob(env: self), ImportFinalizeJob(env: self)] }

    /// Decides what happens after a failed step: another attempt (after the upstream's `retry-after`, the one
    /// short wait of a first 403, or the pool's backoff) while attempts and the window allow, else a final failure.
    func retryDecision(_ failure: ProbeStep, job: ClaimedJob, options: ImportOptions, trail: [TrailEntry], phase: String) -> Duration? {
        let backoff = RetryPolicy(base: retryBase, cap: .seconds(60)).delay(afterAttempt: job.attempt)
        let delay: Duration
        switch failure.classification {
        case .forbidden:
            // One retry after a short delay, then it is final.
            let seen = Set(trail.filter { $0.phase == phase && $0.classification == ProbeClassification.forbidden.rawValue }.map(\.attempt)).count
            guard seen <= 1 else { return nil }
            delay = forbiddenRetryDelay
        case let classification where classification.isTransient:
            delay = failure.retryAfter.map { .seconds($0) } ?? backoff
        default:
            return nil
        }
        guard job.attempt < options.maxAttempts else { return nil }
        // A probe's window opens with the item's first probe (a paced item may start long after the run was
        // submitted); a confirmation's is its job's, opened at provisioning.
        let until = phase == "probe"
            ? (trail.first { $0.phase == "probe" }?.at ?? clock.nowMillis()) + Int64(options.retryWindowS) * 1000
            : job.retryUntil
        if let until, clock.nowMillis() + delay.milliseconds > until { return nil }
        return delay
    }

    func trailEntries(_ steps: [ProbeStep], phase: String, attempt: Int) -> [TrailEntry] {
        let now = clock.nowMillis()
        return steps.map {
            TrailEntry(phase: phase, attempt: attempt, step: $0.step, status: $0.status, latencyMs: $0.latencyMs,
                       classification: $0.classification.rawValue, detail: $0.detail, at: now)
        }
    }
}
