import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// Plain-HTTP upstream calls on pooled SwiftNIO connections that live on the caller's event loop (the inbound
/// connection's), with head and body flushed together and response bytes forwarded as they come.
/// HTTPS upstreams go through `fallback` (AsyncHTTPClient, which brings TLS).
final class NIOUpstreamTransport: UpstreamTransport {
    let group: any EventLoopGroup
    let connectTimeout: Duration
    let fallback: any UpstreamTransport
    /// Idle keep-alive connections by event loop and host.
    private let idle = NIOLockedValueBox<[String: [any Channel]]>([:])
    let maxIdlePerHost = 64

    init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, connectTimeout: Duration, fallback: any UpstreamTransport) {
        self.group = group
        self.connectTimeout = connectTimeout
        self.fallback = fallback
    }

    func send(_ request: UpstreamRequest, firstByteTimeout: Duration, on preferred: (any EventLoop)?) async throws -> UpstreamResponse {
        guard let url = URL(string: request.url), url.scheme == "http", let host = url.host else {
            return try await fallback.send(request, firstByteTimeout: firstByteTimeout, on: nil)
        }
        let port = url.port ?? 80
        var path = url.path.isEmpty ? "/" : url.path
        if let query = url.query { path += "?" + query }
        // Only a NIOPosix loop can host a client connection (a test server's embedded loop cannot).
        let eventLoop = preferred.flatMap { ClientBootstrap(validatingGroup: $0) != nil ? $0 : nil } ?? group.next()
        let key = "\(ObjectIdentifier(eventLoop as AnyObject).hashValue)|\(host):\(port)"
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: path)
        head.headers.add(name: "host", value: port == 80 ? host : "\(host):\(port)")
        for (name, value) in request.headers { head.headers.add(name: name, value: value) }
        if request.body.readableBytes == 0 && !request.headers.contains(where: { $0.0 == "content-type" }) {
            head.method = .GET
        } else {
            head.headers.add(name: "content-length", value: String(request.body.readableBytes))
        }
        let exchange = UpstreamExchange(eventLoop: eventLoop)
        let channel = try await checkout(key: key, host: host, port: port, eventLoop: eventLoop)
        let sent = head
        let response: UpstreamExchange.Head
        do {
            response = try await eventLoop.flatSubmit { () -> EventLoopFuture<UpstreamExchange.Head> in
                exchange.start(on: channel, timeout: firstByteTimeout, total: request.totalTimeout) { [weak self] reusable in
                    if reusable { self?.checkin(channel, key: key) } else { channel.close(promise: nil) }
                }
                channel.write(HTTPClientRequestPart.head(sent), promise: nil)
                if request.body.readableBytes > 0 { channel.write(HTTPClientRequestPart.body(.byteBuffer(request.body)), promise: nil) }
                channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
                return exchange.headPromise.futureResult
            }.get()
        } catch let error as UpstreamFailure {
            throw error
        } catch {
            throw UpstreamFailure.connect(AsyncHTTPClientTransport.describe(error))
        }
        return UpstreamResponse(status: response.status, contentType: response.contentType, retryAfter: response.retryAfter,
                                body: UpstreamBody(stream: exchange.stream) { exchange.abandon() })
    }

    func shutdown() async throws {
        let channels = idle.withLockedValue { map -> [any Channel] in
            defer { map = [:] }
            return map.values.flatMap { $0 }
        }
        for channel in channels { try? await channel.close() }
        try await fallback.shutdown()
    }

    private func checkout(key: String, host: String, port: Int, eventLoop: any EventLoop) async throws -> any Channel {
        while let channel = idle.withLockedValue({ $0[key]?.popLast() }) {
            if channel.isActive { return channel }
        }
        do {
            return try await ClientBootstrap(group: eventLoop)
                .connectTimeout(.nanoseconds(connectTimeout.nanoseconds))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(UpstreamConnectionHandler())
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            throw UpstreamFailure.connect(AsyncHTTPClientTransport.describe(error))
        }
    }

    private func checkin(_ channel: any Channel, key: String) {
        guard channel.isActive else { return }
        let kept = idle.withLockedValue { map -> Bool in
            guard (map[key]?.count ?? 0) < maxIdlePerHost else { return false }
            map[key, default: []].append(channel)
            return true
        }
        if !kept { channel.close(promise: nil) }
    }
}

/// One request/response on one connection: the head promise, the body stream and the connection's fate.
final class UpstreamExchange: @unchecked Sendable {  // touched on its event loop only, except `abandon`
    struct Head: Sendable {
        var status: Int
        var contentType: String?
        var retryAfter: String?
    }

    let eventLoop: any EventLoop
    let headPromise: EventLoopPromise<Head>
    let stream = UpstreamByteStream()
    private var channel: (any Channel)?
    private var release: ((Bool) -> Void)?
    private var timeout: Scheduled<Void>?
    private var totalTimeout: Scheduled<Void>?
    private var keepAlive = true
    private var done = false

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        headPromise = eventLoop.makePromise()
    }

    func start(on channel: any Channel, timeout: Duration, total: Duration, release: @escaping (Bool) -> Void) {
        self.channel = channel
        self.release = release
        let handler = try? channel.pipeline.syncOperations.handler(type: UpstreamConnectionHandler.self)
        handler?.exchange = self
        stream.resume = { [weak self] in
            self?.eventLoop.execute { _ = self?.channel?.setOption(ChannelOptions.autoRead, value: true) }
        }
        self.timeout = eventLoop.scheduleTask(in: .nanoseconds(timeout.nanoseconds)) { [weak self] in
            self?.fail(UpstreamFailure.timeout)
        }
        self.totalTimeout = eventLoop.scheduleTask(in: .nanoseconds(total.nanoseconds)) { [weak self] in
            self?.fail(UpstreamFailure.timeout)
        }
    }

    func head(_ head: HTTPResponseHead) {
        timeout?.cancel()
        keepAlive = head.isKeepAlive
        headPromise.succeed(Head(status: Int(head.status.code), contentType: head.headers.first(name: "content-type"),
                                 retryAfter: head.headers.first(name: "retry-after")))
    }

    /// Returns whether the connection should keep reading.
    func body(_ buffer: ByteBuffer) -> Bool { stream.yield(buffer) }

    func end() {
        guard !done else { return }
        done = true
        totalTimeout?.cancel()
        stream.finish()
        detach(reusable: keepAlive)
    }

    func fail(_ error: any Error) {
        guard !done else { return }
        done = true
        timeout?.cancel()
        totalTimeout?.cancel()
        headPromise.fail(error)
        stream.finish(error)
        detach(reusable: false)
    }

    /// The relay stopped reading before the end (client gone): drop the connection, and with it the upstream request.
    func abandon() {
        eventLoop.execute {
            guard !self.done else { return }
            self.done = true
            self.totalTimeout?.cancel()
            self.stream.finish(CancellationError())
            self.detach(reusable: false)
        }
    }

    private func detach(reusable: Bool) {
        if let channel, let handler = try? channel.pipeline.syncOperations.handler(type: UpstreamConnectionHandler.self) {
            handler.exchange = nil
        }
        let release = self.release
        self.release = nil
        channel = nil
        release?(reusable)
    }
}

/// Feeds an upstream connection's response parts into its current exchange; reads only on demand.
final class UpstreamConnectionHandler: ChannelInboundHandler, @unchecked Sendable {  // event-loop bound
    typealias InboundIn = HTTPClientResponsePart
    var exchange: UpstreamExchange?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): exchange?.head(head)
        case .body(let buffer):
            // The reader is behind: stop reading until it drains (the stream turns autoRead back on).
            if exchange?.body(buffer) == false { _ = context.channel.setOption(ChannelOptions.autoRead, value: false) }
        case .end:
            exchange?.end()
            _ = context.channel.setOption(ChannelOptions.autoRead, value: true)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        exchange?.fail(UpstreamFailure.connect("connection closed by the upstream"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        exchange?.fail(UpstreamFailure.connect(AsyncHTTPClientTransport.describe(error)))
        context.close(promise: nil)
    }
}
