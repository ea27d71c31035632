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
            let nodes = try Self.nodes(db)
            return try RelayChannel.filter(Column("updated_at") >= last.marks.channelsUpdated).fetchAll(db).map { Self.routed($0, nodes: nodes) }
        }
        place(changed.map { ($0.id!, $0) })
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
        place([(id, found)])
    }

    /// Puts channels into the snapshot in place (nil: gone), then rebuilds once each model whose routing changed.
    /// Keys are opened before the lock is taken; requests wait on it only for the index updates.
    private func place(_ found: [(id: Int64, channel: RelayChannel?)]) {
        let keys = openKeys(found.compactMap(\.channel))
        snapshot.withLock { s in
            var dirty = Set<String>()
            for (id, channel) in found { s.put(channel, id: id, key: keys[id], dirty: &dirty) }
            for model in dirty { s.reroute(model) }
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
