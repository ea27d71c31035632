import Foundation
import Scheduler
import ServiceLifecycle
import Store
import Synchronization

extension GatewayState {
    /// Brings the snapshot up to date at the least cost: nothing when nothing moved; only the channels changed
    /// since the last look when just channels were added or changed (an import provisioning hundreds of them
    /// must not make every refresh read and open thousands); a full reload otherwise, and at least every
    /// `maxAge` (which also brings other processes' key spend in). Returns whether anything was read.
    @discardableResult
    public func reloadIfChanged(maxAge: Duration = .seconds(30)) async throws -> Bool {
        // With the marks, capped keys' spend as every process has committed it, so N gateways do not each spend a key's
        // whole quota.
        let (current, used) = try await db.routingMarks(cappedKeysUsed: hasCappedKeys)
        if let used { refreshSpend(used) }
        guard let last = loaded.withLock({ $0 }), last.marks.others == current.others, ContinuousClock.now - last.at < maxAge,
              current.channelCount >= last.marks.channelCount else {
            try await reload()
            return true
        }
        if current == last.marks { return false }
        let (changed, nodes) = try await db.channels(updatedSince: last.marks.channelsUpdated)
        place(changed.map { ($0.id!, Self.routed($0, nodes: nodes)) })
        loaded.withLock { $0 = (current, last.at) }
        return true
    }

    /// Reads the rows `changes` names (announced by PostgreSQL) and puts them into the snapshot in place: a revoked key,
    /// a user's new quota or a price costs one row's read, not a reload of every key, user and channel (and the opening
    /// of every upstream key). Everything, or a first look, is a full reload. The marks read with the rows become the
    /// last look's, so the periodic look (the safety net for an announcement never heard) finds nothing to do.
    public func reload(_ changes: StateChanges) async throws {
        guard !changes.everything, loaded.withLock({ $0 }) != nil else {
            try await reload()
            return
        }
        // Spend alone matters only to keys with a quota.
        if !changes.namesRows && !hasCappedKeys { return }
        let rows = try await db.changedRows(changes, cappedKeysUsed: hasCappedKeys)
        if let used = rows.used { refreshSpend(used) }
        place(rows.channels.map { id, channel in (id, channel.map { Self.routed($0, nodes: rows.nodes) }) })
        snapshot.withLock { s in
            for (id, user) in rows.users { s.users[id] = user }
            for (id, key) in rows.keys { s.put(key, id: id) }
            if !rows.keys.isEmpty { s.hasCappedKeys = s.keysByHash.values.contains { $0.quota != nil } }
            for (name, price) in rows.prices { s.prices[name] = price }
        }
        loaded.withLock { last in last = last.map { (rows.marks, $0.at) } }
    }

    /// Reads one channel (and its key) into the snapshot in place: a pinned request for a channel provisioned or
    /// changed since the last reload, without reloading everything or re-indexing every channel.
    func refresh(channelId id: Int64) async throws {
        let found = try await db.channelWithNode(id).map { found in
            Self.routed(found.channel, nodes: found.node.map { [$0.id!: $0] } ?? [:])
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

/// Reloads the gateway's in-memory state when the database changed, so every process on one database routes and
/// authenticates by the same state within a second. On PostgreSQL each change is announced with the rows it touched
/// (`NOTIFY` from triggers) and those rows are read at once, with a look every `interval` as the safety net for a
/// missed announcement; on SQLite the look every `interval` is the whole mechanism, so it is short there.
public struct GatewayStateRefresher: Service {
    let state: GatewayState
    let interval: Duration

    static let minimumGap = Duration.milliseconds(100)

    public init(state: GatewayState, interval: Duration? = nil) {
        self.state = state
        self.interval = interval ?? (state.db.announcesStateChanges ? .seconds(2) : .milliseconds(300))
    }

    public func run() async throws {
        let wake = WakeSignal()
        let pending = PendingChanges()
        let (state, interval) = (state, interval)
        try? await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    await state.db.listenForStateChanges(logger: state.logger) { payload in
                        pending.changes.withLock { $0.add(announcement: payload) }
                        wake.raise(.work)
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        let announced = await wake.wait(until: .now + interval).contains(.work)
                        if Task.isCancelled { return }
                        let changes = pending.changes.withLock { taken in
                            defer { taken = StateChanges() }
                            return taken
                        }
                        do {
                            if changes.isEmpty { try await state.reloadIfChanged() } else { try await state.reload(changes) }
                        } catch {
                            // The rows named stay unread: the next look reloads everything.
                            if !changes.isEmpty { pending.changes.withLock { $0.everything = true } }
                            state.logger.error("gateway state reload failed", metadata: ["error": "\(error)"])
                        }
                        // At most ten announced looks a second: a burst of announcements (a settlement run commits a
                        // batch of users' spend every few milliseconds) is one reload, not one each.
                        if announced { try? await Task.sleep(for: Self.minimumGap) }
                    }
                }
            }
        }
    }
}

/// Announced changes not yet read, shared by the listening task and the looking one.
private final class PendingChanges: Sendable {
    let changes = Mutex(StateChanges())
}
