import HTTPTypes
import HummingbirdCore
import NIOCore

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
