import Artifacts
import Foundation
import Probe
import Scheduler
import Store
import Synchronization

/// Something to run after a job changed what the gateway serves (the gateway's state reload). Set once the
/// gateway exists, which in `serve` is after the workers are built; unset, nothing runs (the refresher catches up).
public final class ChangeHook: Sendable {
    private let action = Mutex<(@Sendable () async -> Void)?>(nil)

    public init() {}

    public func set(_ action: @escaping @Sendable () async -> Void) { self.action.withLock { $0 = action } }

    func fire() async {
        if let action = action.withLock({ $0 }) { await action() }
    }
}

/// What `reconcile.run` needs: the run store, the keys, the catalog, the probe client, the artifact writer.
public struct ReconcileEnvironment: Sendable {
    public let runs: ReconcileRepository
    public let secrets: SecretBox
    public let catalog: ProviderCatalog
    public let probe: ProbeClient
    public let artifacts: ArtifactWriter
    /// Channels probed at the same time.
    public let concurrency: Int
    /// Consecutive reconciles that cannot reach an enabled channel before it is auto-disabled.
    public let unreachableAfter: Int
    public let changed: ChangeHook

    public init(runs: ReconcileRepository, secrets: SecretBox, catalog: ProviderCatalog, probe: ProbeClient = ProbeClient(),
                artifacts: ArtifactWriter, concurrency: Int = 4, unreachableAfter: Int = 3, changed: ChangeHook = ChangeHook()) {
        self.runs = runs
        self.secrets = secrets
        self.catalog = catalog
        self.probe = probe
        self.artifacts = artifacts
        self.concurrency = max(1, concurrency)
        self.unreachableAfter = max(1, unreachableAfter)
        self.changed = changed
    }

    /// The reconcile kind.
    public var handlers: [any JobHandler] { [ReconcileJob(env: self)] }
}
