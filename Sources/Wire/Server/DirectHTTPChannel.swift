import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1
import ServiceLifecycle

/// HTTP/1.1 connections answered by a channel handler on the connection's event loop: each request, once its
/// body has arrived, runs the router in one task and its response goes straight to the channel.
///
/// Hummingbird's own connection handling wraps every connection in a `NIOAsyncChannel` (an async sequence of
/// request parts in, an async writer of response parts out); per relayed request that machinery cost about as
/// much CPU as the relay itself. `Request` and `Response` stay HummingbirdCore's, so a Hummingbird router answers.
/// Bodies are buffered before `respond` runs (every handler of the gateway collects its body anyway), up to one
/// byte past `maxBodyBytes`, so a handler's own cap still answers 413 in its caller's protocol.
public struct DirectHTTPChannel: ServerChildChannel {
    /// Answers one request that came on `channel` (the caller builds its request context from the channel).
    public typealias Respond = @Sendable (Request, any Channel, Logger) async throws -> Response

    public struct Value: ServerChildChannelValue {
        public let channel: any Channel
        let handler: DirectHTTPHandler
    }

    let serverName: String
    let maxBodyBytes: Int
    let respond: Respond

    /// - Parameters:
    ///   - serverName: the `Server` header of every answer.
    ///   - maxBodyBytes: request bodies are kept up to one byte past this (the handler's cap answers 413).
    public init(serverName: String, maxBodyBytes: Int, respond: @escaping Respond) {
        self.serverName = serverName
        self.maxBodyBytes = maxBodyBytes
        self.respond = respond
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            // Nothing is read until the server hands the connection to `handle`: a connection accepted as the
            // server shuts down must not answer requests after the server (and the record writer after it) is done.
            try channel.syncOptions?.setOption(ChannelOptions.autoRead, value: false)
            // NIO's parser reads requests; answers are rendered to bytes here (`DirectBodyWriter`): no response
            // encoder or HTTP/1 ↔ HTTP-types conversion on the way out.
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
            let handler = DirectHTTPHandler(respond: respond, serverName: serverName, bodyLimit: maxBodyBytes + 1, logger: logger)
            try channel.pipeline.syncOperations.addHandler(handler)
            return Value(channel: channel, handler: handler)
        }
    }

    public func handle(value: Value, logger: Logger) async {
        let channel = value.channel
        channel.eventLoop.execute {
            _ = channel.setOption(ChannelOptions.autoRead, value: true)
            channel.read()
        }
        await withGracefulShutdownHandler {
            try? await value.channel.closeFuture.get()
        } onGracefulShutdown: {
            value.channel.eventLoop.execute { value.handler.quiesce() }
        }
        // A request's task can outlive its connection (the client left mid-answer): the server is done with the
        // connection only when that task is, as with a structured handler, so its record reaches the writer.
        if let task = try? await value.channel.eventLoop.submit({ value.handler.task }).get() { await task.value }
    }
}

/// The per-connection state machine; touched on its event loop only (tasks hop back to it).
final class DirectHTTPHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = ByteBuffer

    let respond: DirectHTTPChannel.Respond
    let serverName: String
    let bodyLimit: Int
    let logger: Logger

    private var context: ChannelHandlerContext?
    private var head: HTTPRequest?
    private var body = ByteBuffer()
    /// A request is being answered; parts of a pipelined next request wait in `held`.
    private var busy = false
    private var held: [HTTPServerRequestPart] = []
    private var quiescing = false
    private(set) var task: Task<Void, Never>?

    init(respond: @escaping DirectHTTPChannel.Respond, serverName: String, bodyLimit: Int, logger: Logger) {
        self.respond = respond
        self.serverName = serverName
        self.bodyLimit = bodyLimit
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if busy { held.append(part) } else { take(part, context: context) }
    }

    private func take(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let request):
            do {
                head = try HTTPRequest(request, secure: false, splitCookie: false)
            } catch {
                badRequest(context: context)
                return
            }
            body.clear()
            // A client waiting for leave to send its body (curl does past 1 KiB) gets it at once.
            if request.headers.first(name: "expect")?.lowercased() == "100-continue" {
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "HTTP/1.1 100 Continue\r\n\r\n")), promise: nil)
            }
        case .body(var chunk):
            // Past the limit the rest is read and dropped: the handler's cap then answers 413.
            let room = bodyLimit - body.readableBytes
            if room > 0 { body.writeImmutableBuffer(chunk.readSlice(length: min(room, chunk.readableBytes))!) }
        case .end:
            guard let request = head else { return }
            head = nil
            respond(to: request, body: body, context: context)
            body = ByteBuffer()
        }
    }

    private func respond(to head: HTTPRequest, body: ByteBuffer, context: ChannelHandlerContext) {
        busy = true
        let channel = context.channel
        let closeAfter = head.headerFields[.connection]?.lowercased() == "close"
        let bodiless = head.method == .head
        let request = Request(head: head, body: RequestBody(buffer: body))
        task = Task(executorPreference: EventLoopTaskExecutor.of(channel.eventLoop)) { [respond, serverName, logger] in
            var response: Response
            do {
                response = try await respond(request, channel, logger)
            } catch {
                logger.debug("unhandled error", metadata: ["error": "\(error)"])
                response = Response(status: .internalServerError)
            }
            response.headers[.server] = serverName
            response.headers[.date] = HTTPDate.now()
            if closeAfter { response.headers[.connection] = "close" }
            let close = closeAfter || response.headers[.connection]?.lowercased() == "close"
            var written = true
            do {
                try await Self.write(response, to: channel, bodiless: bodiless)
            } catch {
                written = false
            }
            channel.eventLoop.execute { self.answered(keepOpen: written && !close) }
        }
    }

    /// Head and a body of known length go out in one flush; a streamed body is flushed chunk by chunk, waiting
    /// for the socket whenever it stops being writable.
    private static func write(_ response: Response, to channel: any Channel, bodiless: Bool) async throws {
        var head = response.head
        if head.headerFields[.contentLength] == nil, let length = response.body.contentLength {
            head.headerFields[.contentLength] = String(length)
        }
        try await response.body.write(DirectBodyWriter(channel: channel, head: head, bodiless: bodiless))
    }

    private func answered(keepOpen: Bool) {
        busy = false
        task = nil
        guard let context else { return }
        guard keepOpen && !quiescing else {
            context.close(promise: nil)
            return
        }
        while !busy, !held.isEmpty { take(held.removeFirst(), context: context) }
    }

    /// Shutdown: close now when idle, else after the answer being written.
    func quiesce() {
        quiescing = true
        if !busy { context?.close(promise: nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // The client went away: the request's task is cancelled (a relay then drops its upstream exchange).
        task?.cancel()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if busy {
            // Finish the answer in hand, then close (e.g. bytes after a `Connection: close` request).
            quiescing = true
            held.removeAll()
            return
        }
        if error is HTTPParserError {
            badRequest(context: context)
            return
        }
        context.close(promise: nil)
    }

    /// A request that cannot be read: 400 and close.
    private func badRequest(context: ChannelHandlerContext) {
        head = nil
        let response = ByteBuffer(string: "HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")
        context.writeAndFlush(wrapOutboundOut(response)).whenComplete { _ in context.close(promise: nil) }
    }
}
