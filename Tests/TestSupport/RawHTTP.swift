import NIOCore
import NIOPosix
import Synchronization

/// A client that speaks HTTP as raw bytes: for tests of framing, pipelining and malformed requests, which a
/// proper HTTP client would not send or would read for us.
public enum RawHTTP {
    /// Sends `raw` to 127.0.0.1:`port` and returns everything read until the server closes, `done` holds, or 10 s pass.
    public static func exchange(port: Int, _ raw: String, until done: @escaping @Sendable (String) -> Bool = { _ in false }) async throws -> String {
        let collected = Collected()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Collector(collected)) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        try await channel.writeAndFlush(ByteBuffer(string: raw))
        let deadline = ContinuousClock.now + .seconds(10)
        while channel.isActive, !done(collected.text), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        try? await channel.close()
        return collected.text
    }

    /// What a connection has read so far, as text.
    public final class Collected: Sendable {
        private let buffer = Mutex("")
        public init() {}
        public var text: String { buffer.withLock { $0 } }
        func append(_ text: String) { buffer.withLock { $0 += text } }
    }

    /// Appends every byte its connection reads to a `Collected`.
    public final class Collector: ChannelInboundHandler, @unchecked Sendable {  // event-loop bound; writes go to a Mutex
        public typealias InboundIn = ByteBuffer
        let collected: Collected
        public init(_ collected: Collected) { self.collected = collected }
        public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            collected.append(String(buffer: unwrapInboundIn(data)))
        }
    }
}
