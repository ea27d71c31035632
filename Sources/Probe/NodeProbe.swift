import AsyncHTTPClient
import Foundation
import NIOCore

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

    /// `GET {baseURL}/health` with the relay key header, within `timeout`. With a client that does not retry failed
    /// connects (the daemon's background client), an address that refuses the connection, cannot be reached or does
    /// not resolve is answered at once, with that reason.
    public func health(baseURL: String, relayKey: String) async -> HealthCheck {
        var request = HTTPClientRequest(url: UpstreamText.url(baseURL, "/health"))
        request.headers.add(name: Self.relayKeyHeader, value: relayKey)
        let started = ContinuousClock.now
        let elapsed = { (ContinuousClock.now - started).milliseconds }
        do {
            let response = try await client.execute(request, timeout: .nanoseconds(timeout.nanoseconds))
            _ = try await response.body.collect(upTo: 1 << 20)
            let status = Int(response.status.code)
            return HealthCheck(status: status, latencyMs: elapsed(), detail: status == 200 ? nil : "health answered \(status)")
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            return HealthCheck(status: 0, latencyMs: elapsed(), detail: "no answer within \(timeout)")
        } catch {
            let reason = ConnectionErrorText.refusal(error) ?? UpstreamText.redact(String("\(error)".prefix(200)), key: relayKey)
            return HealthCheck(status: 0, latencyMs: elapsed(), detail: reason)
        }
    }
}
