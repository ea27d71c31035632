import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix

/// Checks an exit node: its host's DNS records must contain the expected IP, and `GET {relay}/health` with the
/// relay key must answer 200. Pure results, no writes; the relay key never appears in a result.
public struct NodeProbe: Sendable {
    public static let relayKeyHeader = "x-relay-key"
    let client: HTTPClient
    let resolver: any HostResolver
    let timeout: Duration

    public init(client: HTTPClient = .shared, resolver: any HostResolver = SystemResolver(), timeout: Duration = .seconds(10)) {
        self.client = client
        self.resolver = resolver
        self.timeout = timeout
    }

    public struct DNSCheck: Sendable, Equatable {
        public var addresses: [String]
        public var matched: Bool
    }

    public struct HealthCheck: Sendable, Equatable {
        /// The HTTP status, 0 when no answer came.
        public var status: Int
        public var latencyMs: Int64
        public var detail: String?
        public var ok: Bool { status == 200 }
    }

    /// Whether `host` resolves to `expectedIP` (among its addresses).
    public func dns(host: String, expectedIP: String) async -> DNSCheck {
        let addresses = await resolver.addresses(of: host)
        return DNSCheck(addresses: addresses, matched: addresses.contains(expectedIP))
    }

    /// `GET {baseURL}/health` with the relay key header, within `timeout`. An address that refuses the connection
    /// (or cannot be reached, or whose name does not resolve) is answered at once, without waiting out the timeout.
    public func health(baseURL: String, relayKey: String) async -> HealthCheck {
        let started = ContinuousClock.now
        let elapsed = { (ContinuousClock.now - started).milliseconds }
        // AsyncHTTPClient's pool retries a connection that failed to open, with backoff, until the request's
        // deadline: a relay that is down took the whole timeout to be marked. One connect of our own hears the refusal.
        switch await connect(baseURL) {
        case .failed(let reason): return HealthCheck(status: 0, latencyMs: elapsed(), detail: reason)
        case .timedOut: return HealthCheck(status: 0, latencyMs: elapsed(), detail: "no answer within \(timeout)")
        case .accepted: break
        }
        var request = HTTPClientRequest(url: UpstreamText.url(baseURL, "/health"))
        request.headers.add(name: Self.relayKeyHeader, value: relayKey)
        do {
            let left = timeout - (ContinuousClock.now - started)
            let response = try await client.execute(request, timeout: .nanoseconds(max(left.nanoseconds, 1)))
            _ = try await response.body.collect(upTo: 1 << 20)
            let status = Int(response.status.code)
            return HealthCheck(status: status, latencyMs: elapsed(), detail: status == 200 ? nil : "health answered \(status)")
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            return HealthCheck(status: 0, latencyMs: elapsed(), detail: "no answer within \(timeout)")
        } catch {
            let reason = Self.refusal(error) ?? UpstreamText.redact(String("\(error)".prefix(200)), key: relayKey)
            return HealthCheck(status: 0, latencyMs: elapsed(), detail: reason)
        }
    }

    enum Connect { case accepted, timedOut, failed(String) }

    /// Opens (and closes) one TCP connection to the URL's host and port, within `timeout`.
    func connect(_ baseURL: String) async -> Connect {
        guard let url = URL(string: baseURL), let host = url.host else { return .failed("invalid relay URL") }
        let port = url.port ?? (url.scheme?.lowercased() == "https" ? 443 : 80)
        guard let bootstrap = ClientBootstrap(validatingGroup: client.eventLoopGroup)?.connectTimeout(.nanoseconds(timeout.nanoseconds)) else {
            return .accepted   // not a NIOPosix group: the HTTP request alone decides
        }
        do {
            let channel = try await bootstrap.connect(host: host, port: port).get()
            try? await channel.close()
            return .accepted
        } catch ChannelError.connectTimeout {
            return .timedOut
        } catch {
            return Self.refusal(error).map(Connect.failed) ?? .accepted   // anything else: let the HTTP request find out
        }
    }

    /// What a failed connect says at once: refused, unreachable, or a name that does not resolve; nil otherwise.
    static func refusal(_ error: any Error) -> String? {
        switch error {
        case let error as IOError:
            switch error.errnoCode {
            case ECONNREFUSED: return "connection refused"
            case EHOSTUNREACH: return "host unreachable"
            case ENETUNREACH: return "network unreachable"
            default: return nil
            }
        case let error as NIOConnectionError:
            let reasons = Set(error.connectionErrors.map { refusal($0.error) })
            if reasons.count == 1, let reason = reasons.first { return reason }
            if error.connectionErrors.isEmpty && (error.dnsAError != nil || error.dnsAAAAError != nil) {
                return "\(error.host) does not resolve"
            }
            return nil
        default:
            return nil
        }
    }
}
