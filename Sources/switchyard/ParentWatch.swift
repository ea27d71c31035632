import Foundation
import ServiceLifecycle

/// Ends the service group when the process that started this one goes away (`SWITCHYARD_EXIT_WITH_PARENT=1`),
/// so daemons started by tests or scripts never outlive them.
struct ParentWatch: Service {
    let parent = getppid()

    static var enabled: Bool { Env.string("SWITCHYARD_EXIT_WITH_PARENT", "0") == "1" }

    /// Service configurations where the watch, on returning, shuts the group down gracefully (jobs drain,
    /// records flush) instead of failing it.
    static func configurations(_ services: [any Service]) -> [ServiceGroupConfiguration.ServiceConfiguration] {
        services.map { service in
            ServiceGroupConfiguration.ServiceConfiguration(
                service: service, successTerminationBehavior: service is ParentWatch ? .gracefullyShutdownGroup : .cancelGroup)
        }
    }

    func run() async throws {
        while getppid() == parent {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(500)) }
            } catch { return }
        }
    }
}
