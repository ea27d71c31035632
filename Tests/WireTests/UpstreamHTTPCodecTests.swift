import NIOCore
import Testing
@testable import Wire

/// The relay's own HTTP/1.1 framing for upstream connections, byte by byte.
@Suite struct UpstreamHTTPCodecTests {
    /// What a parser reported for a byte stream: heads, the body bytes and how many ends.
    struct Seen: Equatable {
        var heads: [UpstreamResponseHead] = []
        var body = ""
        var ends = 0
    }

    /// Feeds `text` cut at `cuts` (byte offsets), then optionally closes the input.
    static func parse(_ text: String, cuts: [Int] = [], close: Bool = false) throws -> Seen {
        var parser = UpstreamResponseParser()
        var seen = Seen()
        let bytes = Array(text.utf8)
        var start = 0
        let emit = { (event: UpstreamResponseParser.Event) in
            switch event {
            case .head(let head): seen.heads.append(head)
            case .body(let buffer): seen.body += String(buffer: buffer)
            case .end: seen.ends += 1
            }
        }
        for end in cuts + [bytes.count] where end >= start {
            parser.append(ByteBuffer(bytes: bytes[start..<end]))
            while let event = try parser.next() { emit(event) }
            start = end
        }
        if close, let event = try parser.inputClosed() { emit(event) }
        return seen
    }

    /// Every way of cutting the bytes in two gives the same result as one read.
    static func expectSameAtEveryCut(_ text: String, close: Bool = false) throws -> Seen {
        let whole = try parse(text, close: close)
        for cut in 1..<text.utf8.count {
            #expect(try parse(text, cuts: [cut], close: close) == whole, "cut at \(cut)")
        }
        // And byte by byte.
        #expect(try parse(text, cuts: Array(1..<text.utf8.count), close: close) == whole)
        return whole
    }

    @Test func contentLengthBodyAtEveryCut() throws {
        let text = "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: application/json\r\nCONTENT-LENGTH: 11\r\n\r\n{\"ok\":true}"
        let seen = try Self.expectSameAtEveryCut(text)
        #expect(seen == Seen(heads: [.init(status: 200, contentType: "application/json", retryAfter: nil, keepAlive: true)],
                             body: "{\"ok\":true}", ends: 1))
    }

    @Test func chunkedBodyWithExtensionsAndTrailersAtEveryCut() throws {
        let text = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "6;name=value\r\ndata: \r\n19\r\n{\"choices\":[]}\n\ndata: [DO\r\n4\r\nNE]\n\r\n0\r\nx-trailer: 1\r\n\r\n"
        let seen = try Self.expectSameAtEveryCut(text)
        #expect(seen.heads.map(\.contentType) == ["text/event-stream"] && seen.ends == 1)
        #expect(seen.body == "data: {\"choices\":[]}\n\ndata: [DONE]\n")
    }

    @Test func interimAnswersAreSkippedAndResponsesFollowOneAnother() throws {
        let text = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 Too Many\r\nRetry-After: 7\r\nContent-Length: 2\r\n\r\nnoHTTP/1.1 204 No Content\r\n\r\n"
        let seen = try Self.expectSameAtEveryCut(text)
        #expect(seen.heads.map(\.status) == [429, 204] && seen.heads[0].retryAfter == "7")
        #expect(seen.body == "no" && seen.ends == 2)
    }

    @Test func keepAliveFollowsVersionAndConnectionHeader() throws {
        #expect(try Self.parse("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").heads.first?.keepAlive == false)
        #expect(try Self.parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").heads.first?.keepAlive == false)
        #expect(try Self.parse("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n").heads.first?.keepAlive == true)
        // Bare line feeds are read too.
        #expect(try Self.parse("HTTP/1.1 200 OK\ncontent-length: 2\n\nhi").body == "hi")
    }

    @Test func aBodyWithoutLengthRunsToTheClose() throws {
        let seen = try Self.expectSameAtEveryCut("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npartial then close", close: true)
        #expect(seen.heads.first?.keepAlive == false && seen.body == "partial then close" && seen.ends == 1)
        // Without the close it has not ended.
        #expect(try Self.parse("HTTP/1.1 200 OK\r\n\r\nabc").ends == 0)
    }

    @Test func malformedOrCutResponsesFail() throws {
        for bad in [
            "HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
            "HTTP/1.1 101 Switching Protocols\r\n\r\n",
        ] {
            #expect(throws: UpstreamResponseParser.Invalid.self, "\(bad)") { try Self.parse(bad) }
        }
        #expect(throws: UpstreamResponseParser.Invalid.self) {
            try Self.parse("HTTP/1.1 200 OK\r\nx: " + String(repeating: "a", count: UpstreamResponseParser.maxHeadBytes))
        }
        // Closed mid-body, mid-chunk or mid-head: a failure, not an end.
        for cut in ["HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", "HTTP/1.1 20"] {
            #expect(throws: UpstreamResponseParser.Invalid.self, "\(cut)") { try Self.parse(cut, close: true) }
        }
        // An idle close is no failure.
        #expect(try Self.parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", close: true).ends == 1)
    }

    @Test func requestsAreRenderedInOneBufferUnlessTheBodyIsLarge() {
        let allocator = ByteBufferAllocator()
        let post = UpstreamHTTPCodec.request(method: "POST", path: "/v1/chat/completions", host: "127.0.0.1:8080",
                                             headers: [("content-type", "application/json"), ("authorization", "Bearer sk-1")],
                                             body: ByteBuffer(string: "{}"), allocator: allocator)
        #expect(String(buffer: post.head) == "POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1:8080\r\ncontent-type: application/json\r\n"
            + "authorization: Bearer sk-1\r\ncontent-length: 2\r\n\r\n{}")
        #expect(post.body == nil)
        let get = UpstreamHTTPCodec.request(method: "GET", path: "/v1/models", host: "h", headers: [], body: ByteBuffer(), allocator: allocator)
        #expect(String(buffer: get.head) == "GET /v1/models HTTP/1.1\r\nhost: h\r\n\r\n" && get.body == nil)
        let large = ByteBuffer(repeating: UInt8(ascii: "a"), count: 20_000)
        let big = UpstreamHTTPCodec.request(method: "POST", path: "/", host: "h", headers: [], body: large, allocator: allocator)
        #expect(String(buffer: big.head).hasSuffix("content-length: 20000\r\n\r\n") && big.body == large)
    }
}
