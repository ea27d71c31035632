import AsyncHTTPClient
import NIOCore

/// An upstream body read chunk by chunk; dropping it before its end cancels the upstream request.
public final class UpstreamBody: @unchecked Sendable {  // one reader at a time: the relay task that owns it
    private enum Source {
        case client(HTTPClientResponse.Body.AsyncIterator)
        case stream(UpstreamByteStream, abandon: @Sendable () -> Void)
    }

    private var source: Source
    private var finished = false

    init(_ body: HTTPClientResponse.Body) { source = .client(body.makeAsyncIterator()) }

    init(stream: UpstreamByteStream, abandon: @escaping @Sendable () -> Void) { source = .stream(stream, abandon: abandon) }

    /// The next chunk, or nil at the end.
    public func next() async throws -> ByteBuffer? {
        do {
            let chunk: ByteBuffer?
            switch source {
            case .client(var iterator):
                chunk = try await iterator.next()
                source = .client(iterator)
            case .stream(let stream, _):
                chunk = try await stream.next()
            }
            if chunk == nil { finished = true }
            return chunk
        } catch {
            finished = true
            throw error
        }
    }

    /// Reads the rest of the body, failing past `limit` bytes.
    public func collect(upTo limit: Int) async throws -> ByteBuffer {
        if case .stream(let stream, _) = source {
            defer { finished = true }
            return try await stream.collect(upTo: limit)
        }
        var all = ByteBuffer()
        while var chunk = try await next() {
            guard all.readableBytes + chunk.readableBytes <= limit else { throw UpstreamFailure.tooLarge }
            all.writeBuffer(&chunk)
        }
        return all
    }

    deinit {
        if !finished, case .stream(_, let abandon) = source { abandon() }
    }
}
