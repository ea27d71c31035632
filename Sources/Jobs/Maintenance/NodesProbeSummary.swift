import Store

/// `artifacts/nodes.probe/<stamp>_<job id>/summary.json` (schema: `artifacts/schema/nodes.probe.schema.json`).
/// Relay keys appear as fingerprints only.
public struct NodesProbeSummary: Codable, Sendable {
    public var schemaVersion = 1
    public var kind = MaintenanceJobs.nodesProbe.name
    public var jobId: Int64
    public var startedAt: Int64
    public var finishedAt: Int64
    public var unhealthyAfter: Int
    public var nodes: [NodeReport]
    public var channels: [ChannelReport]

    public struct NodeReport: Codable, Sendable {
        public var id: Int64
        public var name: String
        public var host: String
        public var expectedIP: String
        public var relayKeyFingerprint: String
        public var dnsAddresses: [String]
        public var dnsMatched: Bool
        /// The relay's `/health` answer on the address traffic used (0: no answer).
        public var healthStatus: Int
        public var healthFailures: Int
        public var statusBefore: String
        public var statusAfter: String
        public var useHostnameBefore: Bool
        public var useHostnameAfter: Bool
        public var trafficURL: String
        public var changed: Bool

        enum CodingKeys: String, CodingKey {
            case id, name, host, changed
            case expectedIP = "expected_ip"
            case relayKeyFingerprint = "relay_key_fingerprint"
            case dnsAddresses = "dns_addresses"
            case dnsMatched = "dns_matched"
            case healthStatus = "health_status"
            case healthFailures = "health_failures"
            case statusBefore = "status_before"
            case statusAfter = "status_after"
            case useHostnameBefore = "use_hostname_before"
            case useHostnameAfter = "use_hostname_after"
            case trafficURL = "traffic_url"
        }

        init(before: ExitNode, after: ExitNode, dnsMatched: Bool, healthStatus: Int) {
            id = before.id!
            name = before.name
            host = before.host
            expectedIP = before.expectedIP
            relayKeyFingerprint = before.relayKeyFingerprint
            dnsAddresses = after.dnsAddresses
            self.dnsMatched = dnsMatched
            self.healthStatus = healthStatus
            healthFailures = after.healthFailures
            statusBefore = before.status.rawValue
            statusAfter = after.status.rawValue
            useHostnameBefore = before.useHostname
            useHostnameAfter = after.useHostname
            trafficURL = after.trafficURL
            changed = before.status != after.status || before.useHostname != after.useHostname
        }
    }

    /// An auto-disabled channel re-checked: `re_enabled`, `still_failing` or `changed_meanwhile`.
    public struct ChannelReport: Codable, Sendable {
        public var id: Int64
        public var name: String
        public var keyFingerprint: String
        public var result: String
        public var status: Int
        public var classification: String

        enum CodingKeys: String, CodingKey {
            case id, name, result, status, classification
            case keyFingerprint = "key_fingerprint"
        }
    }

    enum CodingKeys: String, CodingKey {
        case kind, nodes, channels
        case schemaVersion = "schema_version"
        case jobId = "job_id"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case unhealthyAfter = "unhealthy_after"
    }
}
