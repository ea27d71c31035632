import Foundation

/// An exit node: a relay that channels bound to it send their traffic through. Traffic uses the node's IP
/// first and moves to its host name only once DNS matched the expected IP and the relay answered healthy.
public struct ExitNode: Codable, Sendable, Equatable, IdentifiedRecord {
    public static let databaseTableName = "nodes"

    public enum Status: String, Codable, Sendable, CaseIterable {
        /// Not probed yet.
        case pending
        case healthy
        /// Health failed N times in a row: its channels leave routing.
        case unhealthy
        /// The host's DNS does not contain the expected IP: traffic stays on the IP, never the host name.
        case dnsMismatch = "dns_mismatch"
    }

    public var id: Int64?
    public var name: String
    public var host: String
    public var expectedIP: String
    public var relayURL: String
    public var relayKeySealed: Data
    public var relayKeyFingerprint: String
    public var status: Status
    public var useHostname: Bool
    public var healthFailures: Int
    public var dnsAddresses: [String]
    public var lastError: String?
    public var lastCheckedAt: Int64?
    public var createdAt: Int64
    public var updatedAt: Int64

    enum CodingKeys: String, CodingKey {
        case id, name, host, status
        case expectedIP = "expected_ip"
        case relayURL = "relay_url"
        case relayKeySealed = "relay_key_sealed"
        case relayKeyFingerprint = "relay_key_fingerprint"
        case useHostname = "use_hostname"
        case healthFailures = "health_failures"
        case dnsAddresses = "dns_addresses"
        case lastError = "last_error"
        case lastCheckedAt = "last_checked_at"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    public init(name: String, host: String, expectedIP: String, relayURL: String, relayKeySealed: Data, relayKeyFingerprint: String, now: Int64) {
        self.name = name
        self.host = host
        self.expectedIP = expectedIP
        self.relayURL = relayURL
        self.relayKeySealed = relayKeySealed
        self.relayKeyFingerprint = relayKeyFingerprint
        self.status = .pending
        self.useHostname = false
        self.healthFailures = 0
        self.dnsAddresses = []
        self.createdAt = now
        self.updatedAt = now
    }


    /// The relay URL with its host replaced by the expected IP: where traffic goes until promotion.
    public var ipURL: String {
        guard var parts = URLComponents(string: relayURL) else { return relayURL }
        parts.host = expectedIP.contains(":") ? "[\(expectedIP)]" : expectedIP
        return parts.string ?? relayURL
    }

    /// Where a bound channel's traffic goes now.
    public var trafficURL: String { useHostname ? relayURL : ipURL }

    /// Whether bound channels may take traffic.
    public var routable: Bool { status != .unhealthy }
}
