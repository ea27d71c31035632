import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix

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
            let thread = Self.threadID()
            if thread != 0 { _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), thread, nice) }
        }
        client = HTTPClient(eventLoopGroupProvider: .shared(group))
    }

    /// This thread's id, from `/proc/thread-self` (`<pid>/task/<tid>`): Swift sees neither gettid nor syscall.
    static func threadID() -> id_t {
        var buffer = [CChar](repeating: 0, count: 64)
        let count = readlink("/proc/thread-self", &buffer, buffer.count - 1)
        guard count > 0 else { return 0 }
        return id_t(String(cString: buffer).split(separator: "/").last.flatMap { UInt32($0) } ?? 0)
    }

    public func shutdown() async {
        try? await client.shutdown()
        try? await group.shutdownGracefully()
    }
}
