import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// Upstream calls through one shared AsyncHTTPClient with a keep-alive pool.
public final class AsyncHTTPClientTransport: UpstreamTransport {
    let client: HTTPClient

    /// - Parameter readTimeout: the longest silence between two reads (a stalled stream fails with it).
    public init(connectTimeout: Duration, readTimeout: Duration = .seconds(120)) {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: TimeAmount(connectTimeout), read: TimeAmount(readTimeout))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 256)
        configuration.decompression = .disabled
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func send(_ request: UpstreamRequest, firstByteTimeout: Duration, on eventLoop: (any EventLoop)?) async throws -> UpstreamResponse {
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
            response = try await client.execute(outbound, timeout: TimeAmount(firstByteTimeout))
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

    public func shutdown() async throws { try await client.shutdown() }

    /// A short reason without URLs' query strings or headers (never a key).
    static func describe(_ error: any Error) -> String {
        let text = "\(error)"
        return String(text.prefix(200))
    }
}
