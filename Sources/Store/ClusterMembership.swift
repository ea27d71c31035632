import Foundation
import Logging
import Scheduler
import ServiceLifecycle
import Synchronization

/// Keeps this process in the `processes` table: registered at start, a heartbeat every `interval`, removed on a
/// clean stop. A process that stops heartbeating is left out of `members()` after `ClusterProcess.deadAfter` missed
/// heartbeats. A heartbeat that fails (the database away) is logged once and retried at the next beat.
public final class ClusterMembership: Service {
    let db: AppDatabase
    let clock: any WallClock
    let logger: Logger
    public let interval: Duration
    private let process: Mutex<ClusterProcess>

    public init(db: AppDatabase, process: ClusterProcess, interval: Duration = .seconds(ClusterProcess.defaultHeartbeatSeconds), clock: any WallClock = SystemWallClock(),
                logger: Logger) {
        self.db = db
        self.clock = clock
        self.logger = logger
        self.interval = interval
        self.process = Mutex(process)
    }

    /// This process as registered.
    public var current: ClusterProcess { process.withLock { $0 } }

    /// How long without a heartbeat before a process counts as dead, in milliseconds.
    public var deadAfterMs: Int64 { interval.milliseconds * Int64(ClusterProcess.deadAfter) }

    /// Sets where this process's HTTP server listens (known once it is bound); written at the next heartbeat.
    public func setAddress(_ address: String) { process.withLock { $0.address = address } }

    /// The live processes sharing the database.
    public func members() async throws -> [ClusterProcess] {
        try await db.liveProcesses(now: clock.nowMillis(), deadAfter: deadAfterMs)
    }

    /// Writes one heartbeat now.
    public func beat() async throws {
        let now = clock.nowMillis()
        let beat = process.withLock { p in
            p.heartbeatAt = now
            return p
        }
        try await db.heartbeat(beat)
    }

    public func run() async throws {
        // The beats stop at once when a graceful shutdown begins (the sleep between them is cancelled).
        try? await cancelWhenGracefulShutdown {
            var failing = false
            while !Task.isCancelled {
                do {
                    try await answer(within: self.interval) { try await self.beat() }
                    if failing { self.logger.notice("cluster heartbeat written again") }
                    failing = false
                } catch {
                    if !failing {
                        self.logger.warning("cluster heartbeat failed; retried every beat",
                                            metadata: ["error": "\(PostgresErrorText.describe(error))"])
                    }
                    failing = true
                }
                try await Task.sleep(for: self.interval)
            }
        }
        // A clean stop leaves the list at once; bounded, a database that is away must not hold the shutdown.
        let id = current.id
        do {
            try await answer(within: .seconds(2)) { try await self.db.deregister(id) }
        } catch {
            logger.warning("could not remove this process from the cluster list; it drops out when its heartbeats stop",
                           metadata: ["error": "\(PostgresErrorText.describe(error))"])
        }
    }
}
