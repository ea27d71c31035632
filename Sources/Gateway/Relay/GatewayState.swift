import Foundation
import Logging
import Probe
import ServiceLifecycle
import Scheduler
import Store
import Synchronization

/// What the data plane reads on every request, kept in memory: keys by hash, users, channels, prices and
/// the upstream keys (opened once per reload). Reloaded after control-plane changes and periodically, so
/// several processes on one database converge within the refresh interval.
public final class GatewayState: Sendable {
    let db: AppDatabase
    let secrets: SecretBox
    /// Consecutive failures (seen by this process; the record writer counts them across processes too) after which a
    /// channel is auto-disabled.
    let autoDisableAfter: Int
    let logger: Logger
    let snapshot = Mutex(Snapshot())
    /// What capped keys have spent: `fresh` read from the database since the last reload (every process's spend),
    /// `local` committed by this process since that read (or since the reload, for a key not read since).
    private let spend = Mutex(Spend())
    struct Spend {
        var fresh: [Int64: Int64] = [:]
        var local: [Int64: Int64] = [:]
    }
    private let streaks = Mutex<[Int64: Int]>([:])
    /// What the last reload read (see `reloadIfChanged`) and when.
    let loaded = Mutex<(marks: RoutingMarks, at: ContinuousClock.Instant)?>(nil)

    public init(db: AppDatabase, secrets: SecretBox, autoDisableAfter: Int = 5, logger: Logger) {
        self.db = db
        self.secrets = secrets
        self.autoDisableAfter = max(2, autoDisableAfter)
        self.logger = logger
    }

    /// Reads everything the data plane needs from the database.
    public func reload() async throws {
        let rows = try await db.routingRows()
        var next = Snapshot()
        for key in rows.keys { next.put(key, id: key.id!) }
        next.hasCappedKeys = rows.keys.contains { $0.quota != nil }
        for user in rows.users { next.users[user.id!] = user }
        next.channels = rows.channels.map { Self.routed($0, nodes: rows.nodes) }
        for price in rows.prices { next.prices[price.name] = price }
        let marks = rows.marks
        next.upstreamKeys = openKeys(next.channels)
        next.index()
        spend.withLock { $0 = Spend() }
        snapshot.withLock { $0 = next }
        loaded.withLock { $0 = (marks, .now) }
    }

    /// The channels' upstream keys, opened; a channel whose key cannot be opened is logged and left out of
    /// routing (routes need a key).
    func openKeys(_ channels: some Sequence<RelayChannel>) -> [Int64: String] {
        var keys: [Int64: String] = [:]
        for channel in channels {
            do {
                let key = try secrets.openString(channel.apiKeySealed)
                guard UpstreamText.isHeaderSafe(key) else {
                    logger.error("a channel's key has characters an HTTP header cannot carry; channel left out of routing",
                                 metadata: ["channel_id": "\(channel.id!)"])
                    continue
                }
                keys[channel.id!] = key
            } catch {
                logger.error("cannot open a channel's key; channel left out of routing", metadata: ["channel_id": "\(channel.id!)"])
            }
        }
        return keys
    }

    /// Exit nodes by id, for `routed`.
    func authenticate(_ plainKey: String) -> (key: APIKey, user: User)? {
        let hash = Fingerprint.sha256Hex(plainKey)
        return snapshot.withLock { s in
            guard let key = s.keysByHash[hash], let user = s.users[key.userId] else { return nil }
            return (key, user)
        }
    }

    /// Micro-units a key has spent, committed ones included.
    func used(keyId: Int64, base: Int64) -> Int64 { spend.withLock { ($0.fresh[keyId] ?? base) + ($0.local[keyId] ?? 0) } }

    /// Takes capped keys' spend as the database has it now (other processes' included); this process's spend
    /// counts again from here.
    func refreshSpend(_ used: [Int64: Int64]) {
        spend.withLock { s in
            for (id, value) in used {
                s.fresh[id] = value
                s.local[id] = nil
            }
        }
    }

    /// Whether any key has a quota (only then is spend read back from the database).
    var hasCappedKeys: Bool { snapshot.withLock(\.hasCappedKeys) }

    func addSpend(_ records: [RequestRecord]) {
        spend.withLock { map in
            for record in records { if let usage = record.usage { map.local[usage.keyId, default: 0] += usage.cost } }
        }
    }

    /// A channel as routing sees it: one bound to an exit node goes to the node's current address (its IP until
    /// promoted to the host name) and leaves routing while the node is unhealthy or gone.
    static func routed(_ channel: RelayChannel, nodes: [Int64: ExitNode]) -> RelayChannel {
        guard let nodeId = channel.nodeId else { return channel }
        var routed = channel
        guard let node = nodes[nodeId], node.routable else {
            if routed.status == .enabled {
                routed.status = .autoDisabled
                routed.statusReason = "exit node \(nodeId) is \(nodes[nodeId]?.status.rawValue ?? "missing")"
            }
            return routed
        }
        routed.baseURL = node.trafficURL
        return routed
    }

    /// One channel, whatever its routing status except operator-disabled: the target of a pinned request.
    /// Nil when this process has not loaded the channel yet.
    func pinned(_ id: Int64) -> (RelayChannel, String)? {
        snapshot.withLock { s in
            guard let position = s.positions[id], s.channels[position].status != .disabled,
                  let key = s.upstreamKeys[id] else { return nil }
            return (s.channels[position], key)
        }
    }

    /// Every model some enabled channel serves.
    func models() -> [String] {
        snapshot.withLock { s in s.routes.filter { !$0.value.isEmpty }.keys.sorted() }
    }

    func price(for model: String) -> ModelPrice? { snapshot.withLock { $0.prices[model] } }

    /// A success resets the channel's failure streak, here and (with the next batch) the count all processes share.
    func channelSucceeded(_ id: Int64) -> ChannelHealthChange {
        _ = streaks.withLock { $0.removeValue(forKey: id) }
        return ChannelHealthChange(channelId: id, reset: true)
    }

    /// Counts a failure; at the threshold the channel leaves routing at once and is marked auto-disabled.
    func channelFailed(_ id: Int64, reason: String) -> ChannelHealthChange {
        let streak = streaks.withLock { map -> Int in
            map[id, default: 0] += 1
            return map[id]!
        }
        guard streak >= autoDisableAfter else {
            return ChannelHealthChange(channelId: id, failures: 1, reason: reason)
        }
        streaks.withLock { $0[id] = nil }
        snapshot.withLock { s in
            if let index = s.positions[id], s.channels[index].status == .enabled {
                s.channels[index].status = .autoDisabled
                s.channels[index].statusReason = reason
                s.reroute(channelAt: index)
            }
        }
        logger.warning("channel auto-disabled", metadata: ["channel_id": "\(id)", "failures": "\(streak)", "reason": "\(reason)"])
        return ChannelHealthChange(channelId: id, failures: 1, autoDisable: true, reason: reason)
    }
}
