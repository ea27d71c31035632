import NIOCore

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
        firstByteDeadline = now + TimeAmount(timeout)
        totalDeadline = now + TimeAmount(total)
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
