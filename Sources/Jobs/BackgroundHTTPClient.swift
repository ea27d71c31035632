import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import Scheduler

/// An HTTP client for background work (import probes, node checks) on its own event-loop thread, run at a
/// lower OS priority, so probing a thousand upstreams never sits on the event loops that serve the gateway.
public final class BackgroundHTTPClient: Sendable {
    public let client: HTTPClient
    private let group: MultiThreadedEventLoopGroup

    /// `nice`: the thread's niceness (0 = normal, 19 = lowest).
    public init(nice: Int32 = 10) {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        group.next().execute {
            // Linux threads have their own nice value: this lowers only the probe thread.
            BackgroundExecutor.lowerPriority(nice)
        }
        // A refused connection is an answer for a probe: AsyncHTTPClient would otherwise retry it with backoff until
        // the request's deadline (20 s for an import probe). Transient failures are retried by the jobs themselves.
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        client = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: configuration)
    }

    public func shutdown() async {
        try? await client.shutdown()
        try? await group.shutdownGracefully()
    }
}
