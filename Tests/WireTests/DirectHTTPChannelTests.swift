import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTesting
import Logging
import NIOCore
import NIOPosix
import Synchronization
import TestSupport
import Testing
@testable import Wire

/// A request context that knows its connection's event loop, as the gateway's does.
struct LoopContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let eventLoop: any EventLoop

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        eventLoop = source.channel.eventLoop
    }
}

/// The direct server's connection handling at the byte level: keep-alive, pipelining order, `Connection: close`,
/// malformed requests, bodies past the limit, streamed answers.
@Suite struct DirectHTTPChannelTests {
    /// Lets the streaming route write past its first chunk.
    static let released = Mutex(false)

    static func app() -> some ApplicationProtocol {
        let router = Router(context: LoopContext.self)
        router.get("echo/{n}") { _, context -> String in
            let n = try context.parameters.require("n", as: Int.self)
            // Later requests answer sooner: a pipelined second answer must still come second.
            try await Task.sleep(for: .milliseconds(max(0, 60 - 20 * n)))
            return "n=\(n)"
        }
        // A HEAD route that still produces a body: the server must send its head only.
        router.head("echo/{n}") { _, context -> String in "n=\(try context.parameters.require("n", as: Int.self))" }
        router.post("count") { request, _ -> String in
            var request = request
            let body = try await request.collectBody(upTo: 16)
            return "bytes=\(body.readableBytes)"
        }
        router.get("stream") { _, _ -> Response in
            Response(status: .ok, body: ResponseBody { writer in
                try await writer.write(ByteBuffer(string: "chunk0;"))
                // The rest only once the test has seen the first chunk (or after 10 s).
                let waited = ContinuousClock.now
                while !DirectHTTPChannelTests.released.withLock({ $0 }) && ContinuousClock.now - waited < .seconds(10) {
                    try await Task.sleep(for: .milliseconds(5))
                }
                for index in 1..<3 { try await writer.write(ByteBuffer(string: "chunk\(index);")) }
                try await writer.finish(nil)
            })
        }
        // A status made from its code alone, as a relayed upstream answer's is.
        router.get("status/{code}") { _, context -> Response in
            Response(status: .init(code: try context.parameters.require("code", as: Int.self)))
        }
        router.get("loop") { _, context -> String in
            // After suspensions (a timer, a nonisolated async call) the request's task is still on its connection's loop.
            try await Task.sleep(for: .milliseconds(2))
            let afterCall = await Self.onLoop(context.eventLoop)
            return afterCall && context.eventLoop.inEventLoop ? "on-loop" : "off-loop"
        }
        let responder = router.buildResponder()
        let direct = Self.direct(responder)
        return Application(responder: responder, server: HTTPServerBuilder { _ in direct })
    }

    /// The server as the gateway builds it: each request answered by `responder` in a context made from its connection.
    static func direct<Responder: HTTPResponder>(_ responder: Responder) -> DirectHTTPChannel where Responder.Context == LoopContext {
        DirectHTTPChannel(serverName: "t", maxBodyBytes: 16) { request, channel, logger in
            try await responder.respond(to: request, context: LoopContext(source: ApplicationRequestContextSource(channel: channel, logger: logger)))
        }
    }

    nonisolated static func onLoop(_ eventLoop: any EventLoop) async -> Bool {
        await Task.yield()
        return eventLoop.inEventLoop
    }

    static func exchange(port: Int, _ raw: String, until done: @escaping @Sendable (String) -> Bool = { _ in false }) async throws -> String {
        try await RawHTTP.exchange(port: port, raw, until: done)
    }

    @Test func nothingIsAnsweredBeforeTheServerHandsTheConnectionOver() async throws {
        // A connection accepted while the server shuts down is set up but never handled: it must not serve
        // requests outside the server's lifetime (their records would miss the writer's last flush).
        let router = Router(context: LoopContext.self)
        router.get("ping") { _, _ in "pong" }
        let direct = Self.direct(router.buildResponder())
        let logger = Logger(label: "test")
        let accepted = Mutex<[DirectHTTPChannel.Value]>([])
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                direct.setup(channel: channel, logger: logger).map { value in accepted.withLock { $0.append(value) } }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let collected = RawHTTP.Collected()
        let client = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(RawHTTP.Collector(collected)) }
            }
            .connect(host: "127.0.0.1", port: server.localAddress!.port!).get()
        try await client.writeAndFlush(ByteBuffer(string: "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"))
        try await Task.sleep(for: .milliseconds(300))
        #expect(collected.text.isEmpty, "answered before handle()")
        let value = try #require(accepted.withLock { $0.first })
        let handling = Task { await direct.handle(value: value, logger: logger) }
        let deadline = ContinuousClock.now + .seconds(10)
        while !collected.text.contains("pong") && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(collected.text.contains("pong"))
        try? await client.close()
        await handling.value
        try await server.close()
    }

    @Test func dateHeaderIsIMFFixdate() {
        #expect(HTTPDate.format(Date(timeIntervalSince1970: 784_111_777)) == "Sun, 06 Nov 1994 08:49:37 GMT")
    }

    @Test func keepAliveAndPipelinedRequestsAnswerInOrder() async throws {
        try await Self.app().test(.live) { client in
            let raw = (0..<3).map { "GET /echo/\($0) HTTP/1.1\r\nHost: x\r\n\r\n" }.joined()
            let text = try await Self.exchange(port: client.port!, raw) { $0.contains("n=2") }
            let order = ["n=0", "n=1", "n=2"].map { text.range(of: $0)?.lowerBound }
            #expect(order.allSatisfy { $0 != nil }, "\(text)")
            #expect(order.compactMap { $0 } == order.compactMap { $0 }.sorted())
            #expect(text.components(separatedBy: "HTTP/1.1 200").count == 4)
            #expect(text.contains("Date: ") && text.contains("Server: t"))
        }
    }

    @Test func requestTasksRunOnTheirConnectionsEventLoop() async throws {
        try await Self.app().test(.live) { client in
            let raw = String(repeating: "GET /loop HTTP/1.1\r\nHost: x\r\n\r\n", count: 5)
            let text = try await Self.exchange(port: client.port!, raw) { $0.components(separatedBy: "-loop").count == 6 }
            #expect(text.components(separatedBy: "on-loop").count == 6 && !text.contains("off-loop"), "\(text)")
        }
    }

    @Test func connectionCloseClosesAfterTheAnswer() async throws {
        try await Self.app().test(.live) { client in
            let text = try await Self.exchange(port: client.port!,
                                               "GET /echo/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /echo/2 HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(text.contains("n=1") && !text.contains("n=2"), "\(text)")
            #expect(text.lowercased().contains("connection: close"))
        }
    }

    @Test func bodyPastTheLimitIsCutAndTheHandlersCapAnswers() async throws {
        try await Self.app().test(.live) { client in
            let small = try await Self.exchange(port: client.port!, "POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello") {
                $0.contains("bytes=")
            }
            #expect(small.contains("bytes=5"))
            let big = String(repeating: "a", count: 5000)
            let text = try await Self.exchange(port: client.port!, "POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n\(big)") {
                $0.contains("\r\n\r\n")
            }
            #expect(text.hasPrefix("HTTP/1.1 413"), "\(text.prefix(200))")
        }
    }

    @Test func statusLinesCarryTheStandardReasonPhrase() async throws {
        let expected = [200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
                        402: "Payment Required", 403: "Forbidden", 404: "Not Found", 409: "Conflict", 413: "Content Too Large",
                        422: "Unprocessable Content", 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
                        503: "Service Unavailable", 504: "Gateway Timeout"]
        try await Self.app().test(.live) { client in
            for (code, phrase) in expected.sorted(by: { $0.key < $1.key }) {
                let text = try await Self.exchange(port: client.port!, "GET /status/\(code) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                #expect(text.hasPrefix("HTTP/1.1 \(code) \(phrase)\r\n"), "\(text.prefix(80))")
            }
            // A code without a standard phrase keeps the (empty) one it has.
            let odd = try await Self.exchange(port: client.port!, "GET /status/599 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(odd.hasPrefix("HTTP/1.1 599 \r\n"), "\(odd.prefix(80))")
        }
    }

    @Test func malformedRequestGets400AndClose() async throws {
        try await Self.app().test(.live) { client in
            let text = try await Self.exchange(port: client.port!, "NOT HTTP AT ALL\r\n\r\n")
            #expect(text.hasPrefix("HTTP/1.1 400"), "\(text)")
        }
    }

    @Test func streamedBodyArrivesInChunksBeforeItEnds() async throws {
        try await Self.app().test(.live) { client in
            let first = try await Self.exchange(port: client.port!, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n") { $0.contains("chunk0;") }
            #expect(first.contains("chunk0;") && !first.contains("chunk2;"), "the first chunk came before the rest was written")
            Self.released.withLock { $0 = true }
            let whole = try await Self.exchange(port: client.port!, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n") { $0.hasSuffix("0\r\n\r\n") }
            #expect(whole.lowercased().contains("transfer-encoding: chunked") && whole.contains("chunk2;"))
            // The framing is exact: an HTTP/1.1 parser reads the chunks back as the body and sees the end.
            var parser = UpstreamResponseParser()
            parser.append(ByteBuffer(string: whole))
            var body = ""
            var ends = 0
            while let event = try parser.next() {
                if case .body(let bytes) = event { body += String(buffer: bytes) }
                if case .end = event { ends += 1 }
            }
            #expect(body == "chunk0;chunk1;chunk2;" && ends == 1, "\(whole)")
        }
    }

    @Test func headGetsTheHeadOnlyAndExpectContinueIsAnswered() async throws {
        try await Self.app().test(.live) { client in
            // HEAD then GET on one connection: the HEAD answer declares the length but sends no body.
            let both = try await Self.exchange(port: client.port!, "HEAD /echo/3 HTTP/1.1\r\nHost: x\r\n\r\nGET /echo/3 HTTP/1.1\r\nHost: x\r\n\r\n") {
                $0.components(separatedBy: "HTTP/1.1 200").count == 3 && $0.hasSuffix("n=3")
            }
            #expect(both.components(separatedBy: "n=3").count == 2 && both.lowercased().contains("content-length: 3"), "\(both)")
            // A client asking leave to send its body gets `100 Continue` before the answer.
            let text = try await Self.exchange(port: client.port!,
                                               "POST /count HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc") {
                $0.contains("bytes=")
            }
            #expect(text.hasPrefix("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200") && text.contains("bytes=3"), "\(text)")
        }
    }
}
