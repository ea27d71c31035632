import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A request to an upstream, ready to send.
struct UpstreamRequest: Sendable {
    var url: String
    var headers: [(String, String)]
    var body: ByteBuffer
    /// The whole exchange, body included, must end within this.
    var totalTimeout: Duration = .seconds(600)
}

/// The head of an upstream's answer and a way to read its body as it arrives.
struct UpstreamResponse: Sendable {
    var status: Int
    var contentType: String?
    var retryAfter: String?
    var body: UpstreamBody
}

/// An upstream body read chunk by chunk; dropping it before its end cancels the upstream request.
final class UpstreamBody: @unchecked Sendable {  // one reader at a time: the relay task that owns it
    private enum Source {
        case client(HTTPClientResponse.Body.AsyncIterator)
        case stream(UpstreamByteStream, abandon: @Sendable () -> Void)
    }

    private var source: Source
    private var finished = false

    init(_ body: HTTPClientResponse.Body) { source = .client(body.makeAsyncIterator()) }

    init(stream: UpstreamByteStream, abandon: @escaping @Sendable () -> Void) { source = .stream(stream, abandon: abandon) }

    func next() async throws -> ByteBuffer? {
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
    func collect(upTo limit: Int) async throws -> ByteBuffer {
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

/// Why an upstream attempt failed before the client saw anything.
enum UpstreamFailure: Error, Sendable {
    case connect(String)
    case timeout
    case tooLarge
}

/// The seam to upstreams: AsyncHTTPClient today; a leaner pooled NIO client can stand beside it.
protocol UpstreamTransport: Sendable {
    /// Sends a request; `eventLoop` is where the caller's connection lives (a hint for connection placement).
    func send(_ request: UpstreamRequest, firstByteTimeout: Duration, on eventLoop: (any EventLoop)?) async throws -> UpstreamResponse
    func shutdown() async throws
}

/// Upstream calls through one shared AsyncHTTPClient with a keep-alive pool.
final class AsyncHTTPClientTransport: UpstreamTransport {
    let client: HTTPClient

    /// - Parameter readTimeout: the longest silence between two reads (a stalled stream fails with it).
    init(connectTimeout: Duration, readTimeout: Duration = .seconds(120)) {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .nanoseconds(connectTimeout.nanoseconds), read: .nanoseconds(readTimeout.nanoseconds))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 256)
        configuration.decompression = .disabled
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func send(_ request: UpstreamRequest, firstByteTimeout: Duration, on eventLoop: (any EventLoop)?) async throws -> UpstreamResponse {
        var outbound = HTTPClientRequest(url: request.url)
        outbound.method = .POST
        for (name, value) in request.headers { outbound.headers.add(name: name, value: value) }
        if request.body.readableBytes > 0 || request.headers.contains(where: { $0.0 == "content-type" }) {
            outbound.body = .bytes(request.body)
        } else {
            outbound.method = .GET
        }
        let response: HTTPClientResponse
        do {
            response = try await client.execute(outbound, timeout: .nanoseconds(firstByteTimeout.nanoseconds))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw UpstreamFailure.timeout
        } catch let error as HTTPClientError where error == .connectTimeout {
            throw UpstreamFailure.connect("connect timeout")
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw UpstreamFailure.connect(Self.describe(error))
        }
        return UpstreamResponse(
            status: Int(response.status.code), contentType: response.headers.first(name: "content-type"),
            retryAfter: response.headers.first(name: "retry-after"), body: UpstreamBody(response.body))
    }

    func shutdown() async throws { try await client.shutdown() }

    /// A short reason without URLs' query strings or headers (never a key).
    static func describe(_ error: any Error) -> String {
        let text = "\(error)"
        return String(text.prefix(200))
    }
}
