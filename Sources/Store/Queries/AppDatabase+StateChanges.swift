import Foundation
import Logging
import Scheduler

extension AppDatabase {
    /// The `NOTIFY` channel on which PostgreSQL announces changes to users, keys, channels, prices and nodes (payload:
    /// the table and the changed rows' keys, see `StateChanges`), from triggers, so no write path can forget to.
    public static let stateChannel = "switchyard_state"

    /// What the record writer announces on `stateChannel` when it committed spend on keys.
    public static let spendAnnouncement = "spend"

    /// Whether this engine announces state changes (PostgreSQL); on SQLite processes find them by polling.
    public var announcesStateChanges: Bool { engine == .postgresql }

    /// Calls `changed` with the table's name on each announced change, until cancelled; on every (re)connection with
    /// nil (changes may have gone unannounced while it was down). A lost connection is taken again after
    /// `retryDelay`. Returns at once on SQLite.
    public func listenForStateChanges(retryDelay: Duration = .seconds(1), logger: Logger,
                                      _ changed: @escaping @Sendable (String?) -> Void) async {
        guard case .postgres(let store) = backend else { return }
        await store.client.listenUntilCancelled(
            on: Self.stateChannel, retryDelay: retryDelay, logger: logger,
            lost: "state change notifications lost; polling until listening again",
            onListening: { changed(nil) }, onNotification: { changed($0) })
    }
}

/// What announcements said changed since the last look: rows by key per table, or everything (an announcement too
/// long to name its rows, one that cannot be read, or a listening connection taken again after announcements may
/// have been lost).
public struct StateChanges: Sendable, Equatable {
    public var users: Set<Int64> = []
    public var keys: Set<Int64> = []
    public var channels: Set<Int64> = []
    public var nodes: Set<Int64> = []
    public var prices: Set<String> = []
    /// Some key's spend moved (the record writer's `spend` announcement): capped keys' spend is read again.
    public var spend = false
    public var everything = false

    public init() {}

    /// Whether some row is named (beyond spend or everything).
    public var namesRows: Bool { !users.isEmpty || !keys.isEmpty || !channels.isEmpty || !nodes.isEmpty || !prices.isEmpty }

    public var isEmpty: Bool { !everything && !spend && !namesRows }

    /// Adds an announcement: `{"table": "users", "keys": [3, 7]}`, or `spend` (nil: announcements may have been lost).
    public mutating func add(announcement payload: String?) {
        if payload == AppDatabase.spendAnnouncement {
            spend = true
            return
        }
        guard let payload, let object = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any],
              let table = object["table"] as? String, let keys = object["keys"] as? [Any] else {
            everything = true
            return
        }
        let ids = keys.compactMap { ($0 as? NSNumber)?.int64Value }
        let names = keys.compactMap { $0 as? String }
        switch table {
        case "users": users.formUnion(ids)
        case "api_keys": self.keys.formUnion(ids)
        case "channels": channels.formUnion(ids)
        case "nodes": nodes.formUnion(ids)
        case "model_prices": prices.formUnion(names)
        default: return
        }
        // Keys of the wrong kind for the table: the announcement cannot be trusted to name every row.
        if (table == "model_prices" ? names.count : ids.count) != keys.count { everything = true }
    }
}

/// The rows named by `StateChanges`, read in one transaction with the marks they bring the reader up to: a key absent
/// from a map was deleted. Channels come routed-ready with the nodes they are bound to (a node's change re-reads
/// every channel bound to it).
public struct ChangedRows: Sendable {
    public var users: [Int64: User?] = [:]
    public var keys: [Int64: APIKey?] = [:]
    public var channels: [Int64: RelayChannel?] = [:]
    public var nodes: [Int64: ExitNode] = [:]
    public var prices: [String: ModelPrice?] = [:]
    public var marks: RoutingMarks
    /// What each key with a quota has spent (asked for with `cappedKeysUsed`).
    public var used: [Int64: Int64]?
}

extension AppDatabase {
    /// Reads the rows `changes` names (see `ChangedRows`).
    public func changedRows(_ changes: StateChanges, cappedKeysUsed: Bool) async throws -> ChangedRows {
        try await read { db in
            func fetch<Record: StoreRecord>(_ type: Record.Type, _ table: String, _ keyColumn: String, _ keys: [any SQLValueConvertible])
                throws -> [Record] {
                guard !keys.isEmpty else { return [] }
                var found: [Record] = []
                // A bounded IN list per statement (both engines' parameter limits stay far away).
                for start in stride(from: 0, to: keys.count, by: 500) {
                    let chunk = Array(keys[start..<min(keys.count, start + 500)])
                    found += try Record.fetchAll(db, sql: "SELECT * FROM \(table) WHERE \(keyColumn) IN (\(Array(repeating: "?", count: chunk.count).joined(separator: ", ")))",
                                                 arguments: SQLArguments(chunk))
                }
                return found
            }
            var rows = ChangedRows(marks: try Self.routingMarks(db))
            for id in changes.users { rows.users[id] = .some(nil) }
            for user in try fetch(User.self, "users", "id", Array(changes.users)) { rows.users[user.id!] = user }
            for id in changes.keys { rows.keys[id] = .some(nil) }
            for key in try fetch(APIKey.self, "api_keys", "id", Array(changes.keys)) { rows.keys[key.id!] = key }
            for name in changes.prices { rows.prices[name] = .some(nil) }
            for price in try fetch(ModelPrice.self, "model_prices", "name", Array(changes.prices)) { rows.prices[price.name] = price }
            for id in changes.channels { rows.channels[id] = .some(nil) }
            var channels = try fetch(RelayChannel.self, "channels", "id", Array(changes.channels))
            channels += try fetch(RelayChannel.self, "channels", "node_id", Array(changes.nodes))
            for channel in channels { rows.channels[channel.id!] = channel }
            let nodeIds = Set(channels.compactMap(\.nodeId))
            for node in try fetch(ExitNode.self, "nodes", "id", Array(nodeIds)) { rows.nodes[node.id!] = node }
            if cappedKeysUsed { rows.used = try Self.cappedKeysUsed(db) }
            return rows
        }
    }
}
