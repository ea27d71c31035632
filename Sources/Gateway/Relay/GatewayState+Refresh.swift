import Foundation
import GRDB
import ServiceLifecycle
import Store

extension GatewayState {
    /// What a reload read, in brief: equal marks mean a reload would read the same thing.
    struct Marks: Sendable, Equatable {
        /// Channels: count, latest `updated_at`, and sums that move when streaks or statuses do.
        var channelCount: Int
        var channelsUpdated: Int64
        var channelsRest: String
        /// Users (balances, exhaustion), keys, prices and nodes. Per-key spend is left out: it changes with every
        /// flush and is tracked in memory between reloads.
        var others: String
    }

    static func marks(_ db: Database) throws -> Marks {
        let row = try Row.fetchOne(db, sql: """
            SELECT (SELECT count(*) FROM channels) AS n, (SELECT ifnull(max(updated_at), 0) FROM channels) AS updated,
                (SELECT total(failure_streak) || '/' || total(length(status)) FROM channels) AS rest,
                (SELECT count(*) || '/' || ifnull(max(updated_at), 0) || '/' || total(used) || '/' || count(exhausted_at) FROM users)
                || '|' || (SELECT count(*) || '/' || ifnull(max(updated_at), 0) FROM api_keys)
                || '|' || (SELECT count(*) || '/' || ifnull(max(updated_at), 0) FROM model_prices)
                || '|' || (SELECT count(*) || '/' || ifnull(max(updated_at), 0) || '/' || ifnull(max(last_checked_at), 0) FROM nodes) AS others
            """)!
        return Marks(channelCount: row["n"], channelsUpdated: row["updated"], channelsRest: row["rest"], others: row["others"])
    }

    /// Brings the snapshot up to date at the least cost: nothing when nothing moved; only the channels changed
    /// since the last look when just channels were added or changed (an import provisioning hundreds of them
    /// must not make every refresh read and open thousands); a full reload otherwise, and at least every
    /// `maxAge` (which also brings other processes' key spend in). Returns whether anything was read.
    @discardableResult
    public func reloadIfChanged(maxAge: Duration = .seconds(30)) async throws -> Bool {
        let current = try await db.pool.read { db in try Self.marks(db) }
        guard let last = loaded.withLock({ $0 }), last.marks.others == current.others, ContinuousClock.now - last.at < maxAge,
              current.channelCount >= last.marks.channelCount else {
            try await reload()
            return true
        }
        if current == last.marks { return false }
        let changed = try await db.pool.read { db -> [RelayChannel] in
            let nodes = Dictionary(uniqueKeysWithValues: try ExitNode.fetchAll(db).map { ($0.id!, $0) })
            return try RelayChannel.filter(Column("updated_at") >= last.marks.channelsUpdated).fetchAll(db).map { Self.routed($0, nodes: nodes) }
        }
        for channel in changed { try place(channel, id: channel.id!) }
        loaded.withLock { $0 = (current, last.at) }
        return true
    }

    /// Reads one channel (and its key) into the snapshot in place: a pinned request for a channel provisioned or
    /// changed since the last reload, without reloading everything or re-indexing every channel.
    func refresh(channelId id: Int64) async throws {
        let found = try await db.pool.read { db -> RelayChannel? in
            guard let channel = try RelayChannel.fetchOne(db, key: id) else { return nil }
            let node = try channel.nodeId.flatMap { try ExitNode.fetchOne(db, key: $0) }
            return Self.routed(channel, nodes: node.map { [$0.id!: $0] } ?? [:])
        }
        try place(found, id: id)
    }

    /// Puts one channel into the snapshot where it is (or at the end), keeping the model index right; nil marks
    /// it gone (left in place as disabled so positions stay valid; the next full reload drops it).
    private func place(_ found: RelayChannel?, id: Int64) throws {
        let key = try found.map { try secrets.openString($0.apiKeySealed) }
        snapshot.withLock { s in
            let position = s.channels.firstIndex { $0.id == id }
            guard let channel = found else {
                if let position {
                    s.channels[position].status = .disabled
                    s.upstreamKeys[id] = nil
                    s.reroute(channelAt: position)
                }
                return
            }
            let changed: Int
            if let position {
                let old = Snapshot.models(of: s.channels[position]), new = Snapshot.models(of: channel)
                for model in old.subtracting(new) { s.byModel[model]?.removeAll { $0 == position } }
                for model in new.subtracting(old) { s.byModel[model, default: []].append(position) }
                s.channels[position] = channel
                changed = position
                s.upstreamKeys[id] = key
                for model in old.union(new) { s.reroute(model) }
                return
            }
            s.channels.append(channel)
            changed = s.channels.count - 1
            for model in Snapshot.models(of: channel) { s.byModel[model, default: []].append(changed) }
            s.upstreamKeys[id] = key
            s.reroute(channelAt: changed)
        }
    }
}

/// Reloads the gateway's in-memory state when the database changed (checked every `interval`), so several
/// processes on one database converge within it.
public struct GatewayStateRefresher: Service {
    let state: GatewayState
    let interval: Duration

    public init(state: GatewayState, interval: Duration = .seconds(2)) {
        self.state = state
        self.interval = interval
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch { return }
            do { try await state.reloadIfChanged() } catch {
                state.logger.error("gateway state reload failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
