import Logging
import ServiceLifecycle

/// The queue's own upkeep, run by every daemon (each step is safe to run concurrently): returns expired
/// leases to the queue and turns periodic schedules into one job per time slot.
public final class QueueMaintenance: Service {
    let driver: any QueueDriver
    let schedules: [Schedule]
    let tick: Duration
    let logger: Logger

    /// - Parameter tick: how often the rescuer and the periodic enqueuer run; a lease is rescued within TTL + tick.
    public init(driver: any QueueDriver, schedules: [Schedule], tick: Duration = .seconds(1), logger: Logger) {
        self.driver = driver
        self.schedules = schedules
        self.tick = tick
        self.logger = logger
    }

    public func run() async throws {
        // Registered before the first pass; a database that refuses it (away, or busy with another daemon starting)
        // is tried again each tick rather than stopping the daemon.
        var registered = false
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            if !registered {
                do {
                    let (driver, schedules) = (driver, schedules)
                    try await answer(within: Self.callLimit) { try await driver.register(schedules) }
                    registered = true
                } catch {
                    logger.error("registering schedules failed; trying again", metadata: ["error": "\(PostgresErrorText.describe(error))"])
                }
            }
            if registered { await runOnce() }
            try? await gracefulSleep(for: tick)
        }
    }

    /// One rescue pass and one periodic pass; errors are logged and the next tick tries again.
    public func runOnce() async {
        do {
            let driver = driver
            let rescued = try await answer(within: Self.callLimit) { try await driver.rescueExpired() }
            if rescued > 0 { logger.warning("rescued jobs whose lease expired", metadata: ["count": "\(rescued)"]) }
        } catch {
            logger.error("rescue failed", metadata: ["error": "\(PostgresErrorText.describe(error))"])
        }
        do {
            let driver = driver
            for result in try await answer(within: Self.callLimit, { try await driver.enqueueDueSchedules() }) where !result.duplicate {
                logger.debug("periodic job enqueued", metadata: ["job_id": "\(result.id)"])
            }
        } catch {
            logger.error("periodic enqueue failed", metadata: ["error": "\(PostgresErrorText.describe(error))"])
        }
    }

    /// How long one pass waits for the database: a call that never returns would keep the daemon from stopping.
    static let callLimit: Duration = .seconds(10)

    private func gracefulSleep(for duration: Duration) async throws {
        try await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }
    }
}
