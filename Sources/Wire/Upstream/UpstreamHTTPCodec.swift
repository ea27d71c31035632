import NIOCore

/// HTTP/1.1 framing for upstream connections: requests rendered straight into one buffer, responses parsed for the
/// few things a proxy reads (status, content type, `retry-after`, keep-alive, body framing; `UpstreamResponseParser`)
/// with the body handed on as slices of the bytes read. NIO's general codec makes a `String` of every header name and
/// value of every answer and re-validates every request header, a real share of a proxy's CPU per request.
enum UpstreamHTTPCodec {
    /// Whether an answer with this status has no body whatever its headers say (1xx, 204, 304; RFC 9112 §6.3),
    /// for the upstream parser and the server's own answers alike.
    static func forbidsBody(status: Int) -> Bool { status < 200 || status == 204 || status == 304 }

    /// A request head (and a small body) in one buffer, ready for one write.
    static func request(method: String, path: String, host: String, headers: [(String, String)], body: ByteBuffer,
                        allocator: ByteBufferAllocator) -> (head: ByteBuffer, body: ByteBuffer?) {
        let inline = body.readableBytes <= 16 << 10
        var size = method.utf8.count + path.utf8.count + host.utf8.count + 64
        for (name, value) in headers { size += name.utf8.count + value.utf8.count + 4 }
        var out = allocator.buffer(capacity: size + (inline ? body.readableBytes : 0))
        out.writeString(method)
        out.writeStaticString(" ")
        out.writeString(path)
        out.writeStaticString(" HTTP/1.1\r\nhost: ")
        out.writeString(host)
        for (name, value) in headers {
            out.writeStaticString("\r\n")
            out.writeString(name)
            out.writeStaticString(": ")
            out.writeString(value)
        }
        if method != "GET" {
            out.writeStaticString("\r\ncontent-length: ")
            out.writeString(String(body.readableBytes))
        }
        out.writeStaticString("\r\n\r\n")
        guard inline else { return (out, body) }
        var body = body
        out.writeBuffer(&body)
        return (out, nil)
    }
}
