import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1
import ServiceLifecycle
import Synchronization

/// HTTP/1.1 connections answered by a channel handler on the connection's event loop: each request, once its
/// body has arrived, runs the router in one task and its response goes straight to the channel.
///
/// Hummingbird's own connection handling wraps every connection in a `NIOAsyncChannel` (an async sequence of
/// request parts in, an async writer of response parts out); per relayed request that machinery cost about as
/// much CPU as the relay itself. The router, middleware and `Response` types stay Hummingbird's.
/// Bodies are buffered before the router runs (every handler here collects its body anyway), up to one byte
/// past `maxBodyBytes`, so a handler's own cap still answers 413 in its caller's protocol.
struct DirectHTTPChannel<Responder: HTTPResponder>: ServerChildChannel where Responder.Context == GatewayContext {
    struct Value: ServerChildChannelValue {
        let channel: any Channel
        let handler: DirectHTTPHandler<Responder>
    }

    let responder: Responder
    let serverName: String
    let maxBodyBytes: Int

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            // Nothing is read until the server hands the connection to `handle`: a connection accepted as the
            // server shuts down must not answer requests after the server (and the record writer after it) is done.
            try channel.syncOptions?.setOption(ChannelOptions.autoRead, value: false)
            // NIO's parser reads requests; answers are rendered to bytes here (`DirectBodyWriter`): no response
            // encoder or HTTP/1 ↔ HTTP-types conversion on the way out.
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
            let handler = DirectHTTPHandler(responder: responder, serverName: serverName, bodyLimit: maxBodyBytes + 1, logger: logger)
            try channel.pipeline.syncOperations.addHandler(handler)
            return Value(channel: channel, handler: handler)
        }
    }

    func handle(value: Value, logger: Logger) async {
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
final class DirectHTTPHandler<Responder: HTTPResponder>: ChannelInboundHandler, @unchecked Sendable
where Responder.Context == GatewayContext {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = ByteBuffer

    let responder: Responder
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

    init(responder: Responder, serverName: String, bodyLimit: Int, logger: Logger) {
        self.responder = responder
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
        task = Task(executorPreference: EventLoopTaskExecutor.of(channel.eventLoop)) { [responder, serverName, logger] in
            let requestContext = GatewayContext(source: ApplicationRequestContextSource(channel: channel, logger: logger))
            var response: Response
            do {
                response = try await responder.respond(to: request, context: requestContext)
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

/// Writes a response to a channel as HTTP/1.1 bytes: the head goes with the first bytes; a body whose length is
/// declared and arrives in one buffer goes out with the head in one write; a body of unknown length is chunked.
struct DirectBodyWriter: ResponseBodyWriter {
    let channel: any Channel
    var head: HTTPResponse?
    /// No body may follow the head (an answer to HEAD, 204, 304).
    let bodiless: Bool
    /// Without a declared length the body goes out in chunked encoding.
    let chunked: Bool
    var done = false

    init(channel: any Channel, head: HTTPResponse, bodiless: Bool = false) {
        self.channel = channel
        self.bodiless = bodiless || UpstreamHTTPCodec.forbidsBody(status: head.status.code)
        chunked = !self.bodiless && head.headerFields[.contentLength] == nil
        var head = head
        if chunked { head.headerFields[.transferEncoding] = "chunked" }
        self.head = head
    }

    mutating func write(_ buffer: ByteBuffer) async throws {
        guard channel.isActive else { throw ChannelError.ioOnClosedChannel }
        var out = channel.allocator.buffer(capacity: buffer.readableBytes + (head == nil ? 16 : 512))
        if let head {
            self.head = nil
            Self.render(head, into: &out)
            if !chunked && head.headerFields[.contentLength] == String(buffer.readableBytes) {
                if !bodiless { out.writeImmutableBuffer(buffer) }
                done = true
                try await channel.writeAndFlush(out)
                return
            }
        }
        if !bodiless && buffer.readableBytes > 0 {
            if chunked {
                out.writeString(String(buffer.readableBytes, radix: 16))
                out.writeStaticString("\r\n")
                out.writeImmutableBuffer(buffer)
                out.writeStaticString("\r\n")
            } else {
                out.writeImmutableBuffer(buffer)
            }
        }
        guard out.readableBytes > 0 else { return }
        guard channel.isWritable else {
            try await channel.writeAndFlush(out)
            return
        }
        channel.writeAndFlush(out, promise: nil)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        guard !done else { return }
        var out = channel.allocator.buffer(capacity: 512)
        if let head { Self.render(head, into: &out) }
        if chunked && !bodiless { out.writeStaticString("0\r\n\r\n") }
        try await channel.writeAndFlush(out)
    }

    /// `HTTP/1.1 <code> <reason>` and the header fields (whose values HTTP types already keep free of line breaks).
    /// The reason is the standard phrase of the code whatever the status carries (a relayed one carries none).
    static func render(_ head: HTTPResponse, into out: inout ByteBuffer) {
        if let line = StatusLine.standard(head.status.code) {
            out.writeString(line)
        } else {
            out.writeStaticString("HTTP/1.1 ")
            out.writeString(String(head.status.code))
            out.writeStaticString(" ")
            out.writeString(head.status.reasonPhrase)
        }
        for field in head.headerFields {
            out.writeStaticString("\r\n")
            out.writeString(field.name.rawName)
            out.writeStaticString(": ")
            out.writeString(field.value)
        }
        out.writeStaticString("\r\n\r\n")
    }
}

/// The `Date` header's value, formatted once per second.
enum HTTPDate {
    private static let cache = Mutex<(second: Int, text: String)>((-1, ""))

    static func now() -> String {
        let now = Date()
        let second = Int(now.timeIntervalSince1970)
        if let cached = cache.withLock({ $0.second == second ? $0.text : nil }) { return cached }
        let formatted = Self.format(now)
        cache.withLock { $0 = (second, formatted) }
        return formatted
    }

    /// IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
    static func format(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
