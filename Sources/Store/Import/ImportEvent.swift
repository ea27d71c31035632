import Foundation
import Scheduler

/// One line of a run's event stream (`GET …/events`, `events.jsonl`).
public struct ImportEvent: Codable, Sendable, Equatable, IdentifiedRecord {
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


    /// Deletes up to `limit` events of runs that finished before `cutoff` (UTC ms); returns how many.
    static func prune(_ db: any StoreConnection, runsFinishedBefore cutoff: Int64, limit: Int) throws -> Int {
        try db.execute(sql: """
            DELETE FROM import_events WHERE id IN (
                SELECT e.id FROM import_events e JOIN import_runs r ON r.id = e.run_id
                WHERE r.finished_at IS NOT NULL AND r.finished_at < ? LIMIT ?)
            """, arguments: [cutoff, limit])
        return db.changesCount
    }

    /// Appends an event inside the caller's transaction.
    static func append(_ db: any StoreConnection, runId: String, item: Int?, type: String, data: [String: JSONScalar] = [:], at: Int64) throws {
        var event = ImportEvent(runId: runId, itemIndex: item, type: type, data: data, at: at)
        try event.insert(db)
    }
}
