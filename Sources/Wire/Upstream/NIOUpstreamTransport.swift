import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Plain-HTTP upstream calls on pooled SwiftNIO connections that live on the caller's event loop (the inbound
/// connection's), with head and body flushed together and response bytes forwarded as they come.
/// HTTPS upstreams go through `fallback` (AsyncHTTPClient, which brings TLS).
public final class NIOUpstreamTransport: UpstreamTransport {
    let group: any EventLoopGroup
    let connectTimeout: Duration
    let fallback: any UpstreamTransport
    /// Idle keep-alive connections by event loop and host.
    private let idle = NIOLockedValueBox<[PoolKey: [any Channel]]>([:])
    let maxIdlePerHost = 64
    /// Parsed upstream URLs (nil: not plain HTTP), so Foundation parses each channel's URL once, not per request.
    private let targets = NIOLockedValueBox<[String: Target?]>([:])
    /// The loops of `group`: a caller's loop among them can host its upstream connection (a test server's embedded
    /// loop cannot). Known up front so a request does not build a bootstrap just to ask.
    private let ownLoops: Set<ObjectIdentifier>

    private struct PoolKey: Hashable {
        var eventLoop: ObjectIdentifier
        var host: String
        var port: Int
    }

    private struct Target {
        var host: String
        var port: Int
        var path: String
        var hostHeader: String

        init?(_ url: String) {
            guard let url = URL(string: url), url.scheme == "http", let host = url.host else { return nil }
            self.host = host
            port = url.port ?? 80
            path = url.path.isEmpty ? "/" : url.path
            if let query = url.query { path += "?" + query }
            hostHeader = port == 80 ? host : "\(host):\(port)"
        }
    }

    public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, connectTimeout: Duration, fallback: any UpstreamTransport) {
        self.group = group
        self.connectTimeout = connectTimeout
        self.fallback = fallback
        ownLoops = Set(group.makeIterator().map { ObjectIdentifier($0 as AnyObject) })
    }

    public func send(_ request: UpstreamRequest, firstByteTimeout: Duration, on preferred: (any EventLoop)?) async throws -> UpstreamResponse {
        guard let target = target(request.url) else {
            return try await fallback.send(request, firstByteTimeout: firstByteTimeout, on: nil)
        }
        let (host, port) = (target.host, target.port)
        let eventLoop = preferred.flatMap { ownLoops.contains(ObjectIdentifier($0 as AnyObject)) ? $0 : nil } ?? group.next()
        let key = PoolKey(eventLoop: ObjectIdentifier(eventLoop as AnyObject), host: host, port: port)
        // A bodiless request without a content type is a GET (a models listing); everything else a POST.
        let get = request.body.readableBytes == 0 && !request.headers.contains(where: { $0.0 == "content-type" })
        let method = get ? "GET" : "POST"
        // A pooled connection the upstream closed while idle fails before any answer: try once more on a new one.
        var reuse = true
        while true {
            let (channel, reused) = try await checkout(key: key, host: host, port: port, eventLoop: eventLoop, reuse: reuse)
            let exchange = UpstreamExchange(eventLoop: eventLoop)
            do {
                let (head, body) = UpstreamHTTPCodec.request(method: method, path: target.path, host: target.hostHeader,
                                                             headers: request.headers, body: request.body, allocator: channel.allocator)
                let response = try await exchange.run(head: head, body: body, on: channel, firstByteTimeout: firstByteTimeout,
                                                      total: request.totalTimeout) { [weak self] reusable in
                    if reusable { self?.checkin(channel, key: key) } else { channel.close(promise: nil) }
                }
                return UpstreamResponse(status: response.status, contentType: response.contentType, retryAfter: response.retryAfter,
                                        body: UpstreamBody(stream: exchange.stream) { exchange.abandon() })
            } catch UpstreamExchange.Stale.closed where reused {
                reuse = false
            } catch UpstreamExchange.Stale.closed {
                throw UpstreamFailure.connect("connection closed by the upstream")
            } catch let error as UpstreamFailure {
                throw error
            } catch {
                throw UpstreamFailure.connect(AsyncHTTPClientTransport.describe(error))
            }
        }
    }

    public func shutdown() async throws {
        let channels = idle.withLockedValue { map -> [any Channel] in
            defer { map = [:] }
            return map.values.flatMap { $0 }
        }
        for channel in channels { try? await channel.close() }
        try await fallback.shutdown()
    }

    private func target(_ url: String) -> Target? {
        if let known = targets.withLockedValue({ $0[url] }) { return known }
        let parsed = Target(url)
        targets.withLockedValue { map in
            if map.count >= 1024 { map = [:] }  // channels' URLs are few; this only bounds odd cases
            map[url] = .some(parsed)
        }
        return parsed
    }

    /// An idle pooled connection (reused: true) or a new one.
    private func checkout(key: PoolKey, host: String, port: Int, eventLoop: any EventLoop, reuse: Bool) async throws -> (any Channel, Bool) {
        while reuse, let channel = idle.withLockedValue({ $0[key]?.popLast() }) {
            if channel.isActive { return (channel, true) }
        }
        do {
            return (try await ClientBootstrap(group: eventLoop)
                .connectTimeout(TimeAmount(connectTimeout))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                // No NIO request encoder: headers are written as they are (`UpstreamHTTPCodec`), so the caller passes
                // only header-safe names and values (`UpstreamRequest.headers`).
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(UpstreamConnectionHandler()) }
                }
                .connect(host: host, port: port).get(), false)
        } catch {
            throw UpstreamFailure.connect(AsyncHTTPClientTransport.describe(error))
        }
    }

    private func checkin(_ channel: any Channel, key: PoolKey) {
        guard channel.isActive else { return }
        let kept = idle.withLockedValue { map -> Bool in
            guard (map[key]?.count ?? 0) < maxIdlePerHost else { return false }
            map[key, default: []].append(channel)
            return true
        }
        if !kept { channel.close(promise: nil) }
    }
}
