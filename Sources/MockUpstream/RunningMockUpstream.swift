import Hummingbird
import Logging
import Synchronization

/// A mock upstream serving on a free loopback port in this process (real HTTP), until `stop()` or deinit.
public final class RunningMockUpstream: Sendable {
    public let script: MockScript
    public let port: Int
    private let task: Task<Void, any Error>

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    private init(script: MockScript, port: Int, task: Task<Void, any Error>) {
        self.script = script
        self.port = port
        self.task = task
    }

    /// Starts a server on 127.0.0.1 (port 0: the OS chooses) and returns once it listens. A given port still held
    /// (a mock just stopped on it whose listener has not closed yet) is tried again until it is free.
    public static func start(script: MockScript = MockScript(), port: Int = 0) async throws -> RunningMockUpstream {
        // Generous: a test process starts dozens of these at once on a loaded two-core machine.
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let bound = Mutex<Int?>(nil)
            let failed = Mutex(false)
            let app = Application(
                router: MockUpstreamServer(script: script).router(),
                configuration: .init(address: .hostname("127.0.0.1", port: port)),
                onServerRunning: { channel in bound.withLock { $0 = channel.localAddress?.port } },
                logger: Logger(label: "mock-upstream") { _ in SwiftLogNoOpLogHandler() })
            let task = Task {
                do { try await app.runService(gracefulShutdownSignals: []) } catch {
                    failed.withLock { $0 = true }
                    throw error
                }
            }
            while bound.withLock({ $0 }) == nil && !failed.withLock({ $0 }) && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            if let port = bound.withLock({ $0 }) { return RunningMockUpstream(script: script, port: port, task: task) }
            task.cancel()
            guard port != 0 && failed.withLock({ $0 }) else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw MockStartFailure(port: port)
    }

    public func stop() { task.cancel() }

    deinit { task.cancel() }
}

/// The mock did not start listening in time (or its server failed to bind).
public struct MockStartFailure: Error, CustomStringConvertible {
    public let port: Int
    public var description: String { "mock upstream did not start listening on 127.0.0.1:\(port) within 30 s" }
}
