
/// What a reload of the gateway's in-memory routing state read, in brief: equal marks mean a reload would read
/// the same thing.
public struct RoutingMarks: Sendable, Equatable {
    /// Channels: count, latest `updated_at`, and sums that move when streaks or statuses do.
    public var channelCount: Int
    public var channelsUpdated: Int64
    public var channelsRest: String
    /// Users (balances, exhaustion), keys, prices and nodes. Per-key spend is left out: it changes with every
    /// flush and is tracked in memory between reloads.
    public var others: String
}

/// Everything the data plane routes and authenticates by, read in one transaction.
public struct RoutingRows: Sendable {
    public var keys: [APIKey]
    public var users: [User]
    /// By priority (highest first), then id.
    public var channels: [RelayChannel]
    public var nodes: [Int64: ExitNode]
    public var prices: [ModelPrice]
    public var marks: RoutingMarks
}

/// The gateway's reads: all of its routing state, what changed since, one channel with its node.
extension AppDatabase {
    public func routingRows() async throws -> RoutingRows {
        try await read { db in
            RoutingRows(keys: try APIKey.fetchAll(db), users: try User.fetchAll(db),
                        channels: try RelayChannel.fetchAll(db, sql: "SELECT * FROM channels ORDER BY priority DESC, id"),
                        nodes: try Self.nodesById(db), prices: try ModelPrice.fetchAll(db), marks: try Self.routingMarks(db))
        }
    }

    public func routingMarks() async throws -> RoutingMarks {
        try await read { db in try Self.routingMarks(db) }
    }

    /// The marks and, when `cappedKeysUsed`, what each key with a quota has spent (by key id), in one read.
    public func routingMarks(cappedKeysUsed: Bool) async throws -> (marks: RoutingMarks, used: [Int64: Int64]?) {
        try await read { db in
            (try Self.routingMarks(db), cappedKeysUsed ? try Self.cappedKeysUsed(db) : nil)
        }
    }

    /// What each key with a quota has spent, by key id.
    static func cappedKeysUsed(_ db: any StoreConnection) throws -> [Int64: Int64] {
        var used: [Int64: Int64] = [:]
        for row in try SQLRow.fetchAll(db, sql: "SELECT id, used FROM api_keys WHERE quota IS NOT NULL") { used[try row[0]] = try row[1] }
        return used
    }

    /// Channels updated at or after `updatedAt`, with every node (to route them).
    public func channels(updatedSince updatedAt: Int64) async throws -> (channels: [RelayChannel], nodes: [Int64: ExitNode]) {
        try await read { db in
            (try RelayChannel.fetchAll(db, sql: "SELECT * FROM channels WHERE updated_at >= ?", arguments: [updatedAt]), try Self.nodesById(db))
        }
    }

    /// One channel and the node it is bound to, if any.
    public func channelWithNode(_ id: Int64) async throws -> (channel: RelayChannel, node: ExitNode?)? {
        try await read { db in
            guard let channel = try RelayChannel.fetchOne(db, key: id) else { return nil }
            return (channel, try channel.nodeId.flatMap { try ExitNode.fetchOne(db, key: $0) })
        }
    }

    static func nodesById(_ db: any StoreConnection) throws -> [Int64: ExitNode] {
        Dictionary(uniqueKeysWithValues: try ExitNode.fetchAll(db).map { ($0.id!, $0) })
    }

    static func routingMarks(_ db: any StoreConnection) throws -> RoutingMarks {
        let row = try SQLRow.fetchOne(db, sql: """
            SELECT (SELECT count(*) FROM channels) AS n, (SELECT coalesce(max(updated_at), 0) FROM channels) AS updated,
                (SELECT coalesce(sum(failure_streak), 0) || '/' || coalesce(sum(length(status)), 0) FROM channels) AS rest,
                (SELECT count(*) || '/' || coalesce(max(updated_at), 0) || '/' || coalesce(sum(used), 0) || '/' || count(exhausted_at) FROM users)
                || '|' || (SELECT count(*) || '/' || coalesce(max(updated_at), 0) FROM api_keys)
                || '|' || (SELECT count(*) || '/' || coalesce(max(updated_at), 0) FROM model_prices)
                || '|' || (SELECT count(*) || '/' || coalesce(max(updated_at), 0) || '/' || coalesce(max(last_checked_at), 0) FROM nodes) AS others
            """)!
        return RoutingMarks(channelCount: try row["n"], channelsUpdated: try row["updated"], channelsRest: try row["rest"],
                            others: try row["others"])
    }
}
