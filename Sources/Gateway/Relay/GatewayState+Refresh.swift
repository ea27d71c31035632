import Foundation
import GRDB
import ServiceLifecycle
import Store

extension GatewayState {
    /// A cheap summary of what the data plane reads (row counts, last changes, balances, statuses): equal
    /// fingerprints mean a reload would read the same thing. Per-key spend is left out (it changes with every
    /// flush and is tracked in memory between reloads).
    static func fingerprint(_ db: Database) throws -> String {
        try String.fetchOne(db, sql: """
            SELECT (SELECT count(*) || '/' || ifnull(max(updated_at), 0) || '/' || total(failure_streak) || '/' || total(length(status))
                    FROM channels)
                || '|' || (SELECT count(*) || '/' || ifnull(max(updated_at), 0) || '/' || total(used) || '/' || count(exhausted_at)
                    FROM users)
                || '|' || (SELECT count(*) || '/' || ifnull(max(updated_at), 0) FROM api_keys)
                || '|' || (SELECT count(*) || '/' || ifnull(max(updated_at), 0) FROM model_prices)
                || '|' || (SELECT count(*) || '/' || ifnull(max(updated_at), 0) || '/' || ifnull(max(last_checked_at), 0) FROM nodes)
            """) ?? ""
    }

    /// Reloads when the fingerprint moved, or when the last reload is older than `maxAge` (which also brings
    /// other processes' key spend in). Reading and sealing-opening every channel costs real CPU with thousands of
    /// channels, so an unchanged database is not read again every few seconds. Returns whether it reloaded.
    @discardableResult
    public func reloadIfChanged(maxAge: Duration = .seconds(30)) async throws -> Bool {
        let current = try await db.pool.read { db in try Self.fingerprint(db) }
        if let last = loaded.withLock({ $0 }), last.fingerprint == current, ContinuousClock.now - last.at < maxAge { return false }
        try await reload()
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
        let key = try found.map { try secrets.openString($0.apiKeySealed) }
        snapshot.withLock { s in
            let position = s.channels.firstIndex { $0.id == id }
            guard let channel = found else {
                // Gone: left in place as disabled (positions stay valid); the next reload drops it.
                if let position { s.channels[position].status = .disabled }
                s.upstreamKeys[id] = nil
                return
            }
            if let position {
                let old = Set(s.channels[position].models).union(s.channels[position].modelMapping.keys)
                let new = Set(channel.models).union(channel.modelMapping.keys)
                for model in old.subtracting(new) { s.byModel[model]?.removeAll { $0 == position } }
                for model in new.subtracting(old) { s.byModel[model, default: []].append(position) }
                s.channels[position] = channel
            } else {
                s.channels.append(channel)
                for model in Set(channel.models).union(channel.modelMapping.keys) {
                    s.byModel[model, default: []].append(s.channels.count - 1)
                }
            }
            s.upstreamKeys[id] = key
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
