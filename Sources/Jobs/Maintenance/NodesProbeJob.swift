import Artifacts
import Foundation
import Logging
import Probe
import Scheduler
import Store

/// `nodes.probe`: checks every exit node (DNS must contain the expected IP; the relay's `/health` with its key
/// must answer 200), moves traffic from the IP to the host name only when both hold, marks a node unhealthy
/// after N failed health checks in a row (its channels leave routing) and healthy again on the next success;
/// then re-checks auto-disabled channels and re-enables those that answer (never operator-disabled ones).
/// Writes an artifact when something changed (every 30 s otherwise would bury the interesting ones).
public struct NodesProbeJob: JobHandler {
    public let kind = MaintenanceJobs.nodesProbe.name
    /// Nodes checked at once: a check is a few sockets waiting on the network, so a fleet with many nodes down
    /// is done in about one timeout rather than one timeout per handful of nodes.
    static let concurrency = 64
    let db: AppDatabase
    let secrets: SecretBox
    let nodeProbe: NodeProbe
    let probe: ProbeClient
    let artifacts: ArtifactWriter
    let clock: any WallClock
    /// Failed health checks in a row that make a node unhealthy.
    let unhealthyAfter: Int

    public init(db: AppDatabase, secrets: SecretBox, nodeProbe: NodeProbe = NodeProbe(), probe: ProbeClient = ProbeClient(timeout: .seconds(15)),
                artifacts: ArtifactWriter, clock: any WallClock = SystemWallClock(), unhealthyAfter: Int = 3) {
        self.db = db
        self.secrets = secrets
        self.nodeProbe = nodeProbe
        self.probe = probe
        self.artifacts = artifacts
        self.clock = clock
        self.unhealthyAfter = max(1, unhealthyAfter)
    }

    public func run(_ context: JobContext) async throws -> JobResult {
        let startedAt = clock.nowMillis()
        let nodes = try await db.allNodes()
        var reports: [NodesProbeSummary.NodeReport] = []
        try await withThrowingTaskGroup(of: NodesProbeSummary.NodeReport.self) { group in
            var pending = nodes[...]
            for _ in 0..<min(Self.concurrency, pending.count) { let node = pending.removeFirst(); group.addTask { try await check(node) } }
            for try await report in group {
                reports.append(report)
                if let node = pending.popFirst() { group.addTask { try await check(node) } }
            }
        }
        let channels = try await recheckAutoDisabled()
        let changed = reports.contains { $0.changed } || channels.contains { $0.result == "re_enabled" }
        context.logger.info("nodes probed", metadata: [
            "nodes": "\(nodes.count)", "changed": "\(reports.filter(\.changed).count)",
            "re_enabled": "\(channels.filter { $0.result == "re_enabled" }.count)"])
        if changed {
            let summary = NodesProbeSummary(jobId: context.job.id, startedAt: startedAt, finishedAt: clock.nowMillis(),
                                            unhealthyAfter: unhealthyAfter, nodes: reports.sorted { $0.id < $1.id }, channels: channels)
            try artifacts.write(kind: kind, id: String(context.job.id), summary: summary)
        }
        return .completed
    }

    /// One node: DNS, health on the address traffic uses now, and (when DNS matched) on the host name before
    /// moving traffic there. Writes only the probe's columns, so an operator's concurrent edit is kept.
    func check(_ node: ExitNode) async throws -> NodesProbeSummary.NodeReport {
        let key = try secrets.openString(node.relayKeySealed)
        let dns = await nodeProbe.dns(host: node.host, expectedIP: node.expectedIP)
        let health = await nodeProbe.health(baseURL: node.trafficURL, relayKey: key)
        var next = node
        next.dnsAddresses = dns.addresses
        next.healthFailures = health.ok ? 0 : node.healthFailures + 1
        next.lastError = health.detail ?? (dns.matched ? nil : "DNS for \(node.host) has \(dns.addresses) without \(node.expectedIP)")
        if next.healthFailures >= unhealthyAfter {
            next.status = .unhealthy
        } else if !dns.matched {
            // Never the host name while DNS disagrees (an operator fixes DNS); traffic stays on, or returns to, the IP.
            next.status = .dnsMismatch
            next.useHostname = false
        } else if health.ok {
            next.status = .healthy
            if !node.useHostname {
                next.useHostname = await nodeProbe.health(baseURL: node.relayURL, relayKey: key).ok
            }
        }
        let now = clock.nowMillis()
        try await db.recordProbe(of: node, as: next, at: now)
        return NodesProbeSummary.NodeReport(before: node, after: next, dnsMatched: dns.matched, healthStatus: health.status)
    }

    /// Auto-disabled channels (not behind an unhealthy node) get a one-token chat; those that answer come back.
    func recheckAutoDisabled() async throws -> [NodesProbeSummary.ChannelReport] {
        let candidates = try await db.autoDisabledChannelsToRecheck()
        var reports: [NodesProbeSummary.ChannelReport] = []
        for channel in candidates {
            guard let model = channel.models.first ?? channel.modelMapping.keys.sorted().first else { continue }
            var base = channel.baseURL
            if let nodeId = channel.nodeId, let node = try await db.node(nodeId, background: true) { base = node.trafficURL }
            let step = await probe.chat(baseURL: base, key: try secrets.openString(channel.apiKeySealed), model: channel.upstreamModel(for: model))
            var result = "still_failing"
            if step.classification == .ok {
                let now = clock.nowMillis()
                let changed = try await db.reEnable(channelId: channel.id!, at: now)
                result = changed ? "re_enabled" : "changed_meanwhile"
            }
            reports.append(.init(id: channel.id!, name: channel.name, keyFingerprint: channel.keyFingerprint, result: result,
                                 status: step.status, classification: step.classification.rawValue))
        }
        return reports
    }
}
