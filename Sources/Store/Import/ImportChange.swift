import Foundation
import GRDB
import Scheduler

/// A change a run made to a channel, with the channel as it was before (for rollback) and a digest of the
/// channel as the run left it (so a rollback can tell whether someone changed it since).
public struct ImportChange: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "import_changes"

    public enum Action: String, Codable, Sendable { case created, patched, replaced, reactivated }

    public var id: Int64?
    public var runId: String
    public var itemIndex: Int
    public var channelId: Int64
    public var action: Action
    public var before: RelayChannel?
    public var afterDigest: String
    public var rolledBackAt: Int64?

    enum CodingKeys: String, CodingKey {
        case id, action, before
        case runId = "run_id"
        case itemIndex = "item_index"
        case channelId = "channel_id"
        case afterDigest = "after_digest"
        case rolledBackAt = "rolled_back_at"
    }

    public init(runId: String, itemIndex: Int, channelId: Int64, action: Action, before: RelayChannel?, after: RelayChannel) {
        self.runId = runId
        self.itemIndex = itemIndex
        self.channelId = channelId
        self.action = action
        self.before = before
        self.afterDigest = after.digest
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// One line of a run's event stream (`GET …/events`, `events.jsonl`).
public struct ImportEvent: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "import_events"

    public var id: Int64?
    public var runId: String
    public var itemIndex: Int?
    public var type: String
    /// A JSON object.
    public var data: String
    public var at: Int64

    enum CodingKeys: String, CodingKey {
        case id, type, data, at
        case runId = "run_id"
        case itemIndex = "item_index"
    }

    public init(runId: String, itemIndex: Int?, type: String, data: [String: JSONScalar] = [:], at: Int64) {
        self.runId = runId
        self.itemIndex = itemIndex
        self.type = type
        self.data = (try? String(decoding: JSONEncoder.sortedKeys.encode(data), as: UTF8.self)) ?? "{}"
        self.at = at
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    /// Deletes up to `limit` events of runs that finished before `cutoff` (UTC ms); returns how many.
    static func prune(_ db: Database, runsFinishedBefore cutoff: Int64, limit: Int) throws -> Int {
        try db.execute(sql: """
            DELETE FROM import_events WHERE id IN (
                SELECT e.id FROM import_events e JOIN import_runs r ON r.id = e.run_id
                WHERE r.finished_at IS NOT NULL AND r.finished_at < ? LIMIT ?)
            """, arguments: [cutoff, limit])
        return db.changesCount
    }

    /// Appends an event inside the caller's transaction.
    static func append(_ db: Database, runId: String, item: Int?, type: String, data: [String: JSONScalar] = [:], at: Int64) throws {
        var event = ImportEvent(runId: runId, itemIndex: item, type: type, data: data, at: at)
        try event.insert(db)
    }
}

/// A string, integer, boolean or null: the values event data carries.
public enum JSONScalar: Codable, Sendable, Equatable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    case string(String), int(Int64), bool(Bool), null

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(_ value: String?) { self = value.map { .string($0) } ?? .null }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .null: try container.encodeNil()
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int64.self) { self = .int(value) }
        else { self = .string(try container.decode(String.self)) }
    }
}

extension RelayChannel {
    /// SHA-256 of what an operator (or a run) sets: changes to it mean "someone else touched this channel".
    /// The failure streak and timestamps are left out, since traffic moves them.
    public var digest: String {
        struct Content: Encodable {
            let name: String, type: String, baseURL: String, keyFingerprint: String, models: [String]
            let mapping: [String: String], priority: Int, weight: Int, status: String
            let provider: String?, family: String?, capabilities: ChannelCapabilities?
        }
        let content = Content(name: name, type: type.rawValue, baseURL: baseURL, keyFingerprint: keyFingerprint, models: models,
                              mapping: modelMapping, priority: priority, weight: weight, status: status.rawValue,
                              provider: provider, family: family, capabilities: capabilities)
        return Fingerprint.sha256Hex(String(decoding: (try? JSONEncoder.sortedKeys.encode(content)) ?? Data(), as: UTF8.self))
    }
}
