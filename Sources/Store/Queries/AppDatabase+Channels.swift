import Foundation

/// Channels and exit nodes, as the control plane and the jobs read and change them.
extension AppDatabase {
    public func createChannel(_ channel: RelayChannel) async throws -> RelayChannel { try await inserted(channel) }

    public func channels(_ page: Page) async throws -> [RelayChannel] { try await rows(RelayChannel.self, page) }

    /// One channel; `background` for a job's read (see `backgroundRead`).
    public func channel(_ id: Int64, background: Bool = false) async throws -> RelayChannel? {
        try await one(RelayChannel.self, id, background: background)
    }

    public func updateChannel(_ channel: RelayChannel) async throws {
        try await write { db in try channel.update(db) }
    }

    /// Deletes a channel unless an unfinished reconcile run holds it (checked in the deleting transaction, so a run
    /// starting meanwhile cannot slip past). False when there was no such channel.
    public func deleteChannel(_ id: Int64) async throws -> Bool {
        try await write { db in
            if let run = try ReconcileRepository.runHolding(db, channelId: id) {
                throw StoreError.inUse("channel \(id) is in use by reconcile run \(run), which has not finished")
            }
            return try RelayChannel.deleteOne(db, key: id)
        }
    }

    /// Creates a node; a name already taken is a conflict.
    public func createNode(_ node: ExitNode) async throws -> ExitNode {
        do {
            return try await inserted(node)
        } catch let error as StoreError where error.code == .conflict {
            throw StoreError.conflict("a node named \(node.name) exists")
        }
    }

    public func nodes(_ page: Page) async throws -> [ExitNode] { try await rows(ExitNode.self, page) }

    /// Every node by id (the health probe's list).
    public func allNodes() async throws -> [ExitNode] {
        try await backgroundRead { db in try ExitNode.fetchAll(db, sql: "SELECT * FROM nodes ORDER BY id") }
    }

    public func node(_ id: Int64, background: Bool = false) async throws -> ExitNode? {
        try await one(ExitNode.self, id, background: background)
    }

    public func nodeExists(_ id: Int64) async throws -> Bool {
        try await read { db in try ExitNode.exists(db, key: id) }
    }

    public func updateNode(_ node: ExitNode) async throws {
        try await write { db in try node.update(db) }
    }

    /// The channels bound to a node, by id.
    public func channelIds(boundTo nodeId: Int64) async throws -> [Int64] {
        try await read { db in
            try Int64.fetchAll(db, sql: "SELECT id FROM channels WHERE node_id = ? ORDER BY id", arguments: [nodeId])
        }
    }

    /// Deletes a node; false when there was none.
    public func deleteNode(_ id: Int64) async throws -> Bool {
        try await write { db in try ExitNode.deleteOne(db, key: id) }
    }
}

/// The health probe's writes: only the columns it owns, so an operator's concurrent edit is kept.
extension AppDatabase {
    /// Records a node's probe result, unless an operator changed where the node points since `before` was read.
    public func recordProbe(of before: ExitNode, as after: ExitNode, at now: Int64) async throws {
        let addresses = String(decoding: try JSONEncoder().encode(after.dnsAddresses), as: UTF8.self)
        try await backgroundWrite { db in
            try db.execute(sql: """
                UPDATE nodes SET status = ?, use_hostname = ?, health_failures = ?, dns_addresses = ?, last_error = ?,
                    last_checked_at = ? WHERE id = ? AND host = ? AND expected_ip = ? AND relay_url = ?
                """, arguments: [after.status.rawValue, after.useHostname, after.healthFailures, addresses, after.lastError, now,
                                 before.id!, before.host, before.expectedIP, before.relayURL])
        }
    }

    /// Auto-disabled channels not behind an unhealthy node, by id: those a health probe tries again.
    public func autoDisabledChannelsToRecheck() async throws -> [RelayChannel] {
        try await backgroundRead { db in
            try RelayChannel.fetchAll(db, sql: """
                SELECT c.* FROM channels c LEFT JOIN nodes n ON n.id = c.node_id
                WHERE c.status = 'auto_disabled' AND (n.id IS NULL OR n.status != 'unhealthy') ORDER BY c.id
                """)
        }
    }

    /// Enables an auto-disabled channel that answered again; false when someone changed its status meanwhile.
    public func reEnable(channelId: Int64, at now: Int64) async throws -> Bool {
        try await write { db in
            try db.execute(sql: """
                UPDATE channels SET status = 'enabled', status_reason = NULL, failure_streak = 0, updated_at = ?
                WHERE id = ? AND status = 'auto_disabled'
                """, arguments: [now, channelId])
            return db.changesCount == 1
        }
    }
}
