import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Plain-HTTP upstream calls on pooled SwiftNIO connections that live on the caller's event loop (the inbound
/// connection's), with head and body flushed together and response bytes forwarded as they come.
/// HTTPS upstreams go through `fallback` (AsyncHTTPClient, which brings TLS).
final class NIOUpstreamTransport: UpstreamTransport {
    let group: any EventLoopGroup
    let connectTimeout: Duration
    let fallback: any UpstreamTransport
    /// Idle keep-alive connections by event loop and host.
    private let idle = NIOLockedValueBox<[PoolKey: [any Channel]]>([:])
    let maxIdlePerHost = 64
    /// Parsed upstream URLs (nil: not plain HTTP), so Foundation parses each channel's URL once, not per request.
    private let targets = NIOLockedValueBox<[String: Target?]>([:])
    /// The loops of `group`: a caller's loop among them can host its upstream connection (a test server's embedded
    /// loop cannot). Known up front so a request does not build a bootstrap just to ask.
    private let ownLoops: Set<ObjectIdentifier>

    private struct PoolKey: Hashable {
        var eventLoop: ObjectIdentifier
        var host: String
        var port: Int
    }

    private struct Target {
        var host: String
        var port: Int
        var path: String
        var hostHeader: String

        init?(_ url: String) {
            guard let url = URL(string: url), url.scheme == "http", let host = url.host else { return nil }
            self.host = host
            port = url.port ?? 80
            path = url.path.isEmpty ? "/" : url.path
            if let query = url.query { path += "?" + query }
            hostHeader = port == 80 ? host : "\(host):\(port)"
        }
    }

    init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, connectTimeout: Duration, fallback: any UpstreamTransport) {
        self.group = group
        self.connectTimeout = connectTimeout
        self.fallback = fallback
        ownLoops = Set(group.makeIterator().map { ObjectIdentifier($0 as AnyObject) })
    }

    func send(_ request: UpstreamRequest, firstByteTimeout: Duration, on preferred: (any EventLoop)?) async throws -> UpstreamResponse {
        guard let target = target(request.url) else {
            return try await fallback.send(request, firstByteTimeout: firstByteTimeout, on: nil)
        }
        let (host, port) = (target.host, target.port)
        let eventLoop = preferred.flatMap { ownLoops.contains(ObjectIdentifier($0 as AnyObject)) ? $0 : nil } ?? group.next()
        let key = PoolKey(eventLoop: ObjectIdentifier(eventLoop as AnyObject), host: host, port: port)
        // A bodiless request without a content type is a GET (a models listing); everything else a POST.
        let get = request.body.readableBytes == 0 && !request.headers.contains(where: { $0.0 == "content-type" })
        let method = get ? "GET" : "POST"
        // A pooled connection the upstream closed while idle fails before any answer: try once more on a new one.
        var reuse = true
        while true {
            let (channel, reused) = try await checkout(key: key, host: host, port: port, eventLoop: eventLoop, reuse: reuse)
            let exchange = UpstreamExchange(eventLoop: eventLoop)
            do {
                let (head, body) = UpstreamHTTPCodec.request(method: method, path: target.path, host: target.hostHeader,
                                                             headers: request.headers, body: request.body, allocator: channel.allocator)
                let response = try await exchange.run(head: head, body: body, on: channel, firstByteTimeout: firstByteTimeout,
                                                      total: request.totalTimeout) { [weak self] reusable in
                    if reusable { self?.checkin(channel, key: key) } else { channel.close(promise: nil) }
                }
                return UpstreamResponse(status: response.status, contentType: response.contentType, retryAfter: response.retryAfter,
                                        body: UpstreamBody(stream: exchange.stream) { exchange.abandon() })
            } catch UpstreamExchange.Stale.closed where reused {
                reuse = false
            } catch UpstreamExchange.Stale.closed {
                throw UpstreamFailure.connect("connection closed by the upstream")
            } catch let error as UpstreamFailure {
                throw error
            } catch {
                throw UpstreamFailure.connect(AsyncHTTPClientTransport.describe(error))
            }
        }
    }

    func shutdown() async throws {
        let channels = idle.withLockedValue { map -> [any Channel] in
            defer { map = [:] }
            return map.values.flatMap { $0 }
        }
        for channel in channels { try? await channel.close() }
        try await fallback.shutdown()
    }

    private func target(_ url: String) -> Target? {
        if let known = targets.withLockedValue({ $0[url] }) { return known }
        let parsed = Target(url)
        targets.withLockedValue { map in
            if map.count >= 1024 { map = [:] }  // channels' URLs are few; this only bounds odd cases
            map[url] = .some(parsed)
        }
        return parsed
    }

    /// An idle pooled connection (reused: true) or a new one.
    private func checkout(key: PoolKey, host: String, port: Int, eventLoop: any EventLoop, reuse: Bool) async throws -> (any Channel, Bool) {
        while reuse, let channel = idle.withLockedValue({ $0[key]?.popLast() }) {
            if channel.isActive { return (channel, true) }
        }
        do {
            return (try await ClientBootstrap(group: eventLoop)
                .connectTimeout(.nanoseconds(connectTimeout.nanoseconds))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                // Header values are the relay's own constants, channel keys (checked header-safe when loaded) and
                // headers NIO's parser already accepted from the client: written as they are (`UpstreamHTTPCodec`).
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(UpstreamConnectionHandler()) }
                }
                .connect(host: host, port: port).get(), false)
        } catch {
            throw UpstreamFailure.connect(AsyncHTTPClientTransport.describe(error))
        }
    }

    private func checkin(_ channel: any Channel, key: PoolKey) {
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
    typealias Head = UpstreamResponseHead

    let eventLoop: any EventLoop
    let headPromise: EventLoopPromise<Head>
    let stream = UpstreamByteStream()
    private var channel: (any Channel)?
    private var release: ((Bool) -> Void)?
    /// One timer per exchange: it fires at the nearer of the two deadlines and, once the head has arrived,
    /// re-arms itself for the total deadline instead of a second timer being scheduled for every request.
    private var timer: Scheduled<Void>?
    private var firstByteDeadline = NIODeadline.distantFuture
    private var totalDeadline = NIODeadline.distantFuture
    private var keepAlive = true
    private var done = false

    /// The connection was closed before any answer arrived (a stale pooled connection, typically).
    enum Stale: Error { case closed }

    private var answered = false

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        headPromise = eventLoop.makePromise()
    }

    /// Writes the request (head and body flushed together) and waits for the response head.
    func run(head: ByteBuffer, body: ByteBuffer?, on channel: any Channel, firstByteTimeout: Duration, total: Duration,
             release: @escaping @Sendable (Bool) -> Void) async throws -> Head {
        // The relay task usually runs on this loop already (NIO's loops are the global executor): no hop then.
        if eventLoop.inEventLoop {
            return try await send(head, body, on: channel, firstByteTimeout: firstByteTimeout, total: total, release: release).get()
        }
        return try await eventLoop.flatSubmit {
            self.send(head, body, on: channel, firstByteTimeout: firstByteTimeout, total: total, release: release)
        }.get()
    }

    private func send(_ head: ByteBuffer, _ body: ByteBuffer?, on channel: any Channel, firstByteTimeout: Duration, total: Duration,
                      release: @escaping (Bool) -> Void) -> EventLoopFuture<Head> {
        guard channel.isActive else { return eventLoop.makeFailedFuture(Stale.closed) }
        start(on: channel, timeout: firstByteTimeout, total: total, release: release)
        // A failed write closes the connection, which the handler reports as `closedEarly`.
        if let body {
            channel.write(head, promise: nil)
            channel.writeAndFlush(body, promise: nil)
        } else {
            channel.writeAndFlush(head, promise: nil)
        }
        return headPromise.futureResult
    }

    /// The connection went away: before any answer that is `Stale.closed` (safe to retry), after it a failure.
    func closedEarly() {
        fail(answered ? UpstreamFailure.connect("connection closed by the upstream") : Stale.closed)
    }

    func start(on channel: any Channel, timeout: Duration, total: Duration, release: @escaping (Bool) -> Void) {
        self.channel = channel
        self.release = release
        let handler = try? channel.pipeline.syncOperations.handler(type: UpstreamConnectionHandler.self)
        handler?.exchange = self
        stream.resume = { [weak self] in
            guard let self else { return }
            eventLoop.execute { _ = self.channel?.setOption(ChannelOptions.autoRead, value: true) }
        }
        let now = NIODeadline.now()
        firstByteDeadline = now + .nanoseconds(timeout.nanoseconds)
        totalDeadline = now + .nanoseconds(total.nanoseconds)
        arm(at: min(firstByteDeadline, totalDeadline))
    }

    private func arm(at deadline: NIODeadline) {
        timer = eventLoop.scheduleTask(deadline: deadline) { [weak self] in self?.timerFired() }
    }

    private func timerFired() {
        guard !done else { return }
        let due = answered ? totalDeadline : min(firstByteDeadline, totalDeadline)
        if NIODeadline.now() >= due { fail(UpstreamFailure.timeout) } else { arm(at: due) }
    }

    func head(_ head: Head) {
        answered = true
        keepAlive = head.keepAlive
        headPromise.succeed(head)
    }

    /// Returns whether the connection should keep reading.
    func body(_ buffer: ByteBuffer) -> Bool { stream.yield(buffer) }

    func end() { conclude(nil, reusable: keepAlive) }

    func fail(_ error: any Error) { conclude(error, reusable: false) }

    /// The relay stopped reading before the end (client gone): drop the connection, and with it the upstream request.
    func abandon() {
        eventLoop.execute { self.conclude(CancellationError(), reusable: false) }
    }

    /// Ends the exchange once: the timer stopped, the head (if still awaited) and the body stream finished, with
    /// `error` when it failed, and the connection released (back to the pool only when `reusable`).
    private func conclude(_ error: (any Error)?, reusable: Bool) {
        guard !done else { return }
        done = true
        timer?.cancel()
        if let error {
            headPromise.fail(error)  // no effect once the head has arrived
            stream.finish(error)
        } else {
            stream.finish()
        }
        detach(reusable: reusable)
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

/// Parses an upstream connection's responses into its current exchange; reads only on demand.
final class UpstreamConnectionHandler: ChannelInboundHandler, @unchecked Sendable {  // event-loop bound
    typealias InboundIn = ByteBuffer
    var exchange: UpstreamExchange?
    private var parser = UpstreamResponseParser()

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        parser.append(unwrapInboundIn(data))
        do {
            // One event at a time with the parser released: handling one may close the connection (a full pool).
            while let event = try parser.next() { deliver(event, context: context) }
        } catch {
            fail(error, context: context)
        }
    }

    private func deliver(_ event: UpstreamResponseParser.Event, context: ChannelHandlerContext) {
        // Bytes no request asked for (after an answer, or on an idle pooled connection): the connection is unusable.
        guard let exchange else {
            context.close(promise: nil)
            return
        }
        switch event {
        case .head(let head): exchange.head(head)
        case .body(let buffer):
            // The reader is behind: stop reading until it drains (the stream turns autoRead back on).
            if !exchange.body(buffer) { _ = context.channel.setOption(ChannelOptions.autoRead, value: false) }
        case .end:
            exchange.end()
            _ = context.channel.setOption(ChannelOptions.autoRead, value: true)
        }
    }

    private func fail(_ error: any Error, context: ChannelHandlerContext) {
        exchange?.fail(UpstreamFailure.connect(AsyncHTTPClientTransport.describe(error)))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        do {
            // A body that runs to the connection's end ends here; anything else cut short fails below.
            if let event = try parser.inputClosed() { deliver(event, context: context) }
        } catch {
            exchange?.fail(UpstreamFailure.connect(AsyncHTTPClientTransport.describe(error)))
        }
        exchange?.closedEarly()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { fail(error, context: context) }
}
