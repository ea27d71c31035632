import Foundation

/// An import event as written out: one line of a run's `events.jsonl` artifact and one event of its SSE stream.
public struct EventLine: Codable, Sendable {
    public var id: Int64
    public var runId: String
    public var item: Int?
    public var type: String
    public var data: [String: JSONScalar]
    public var at: Int64

    enum CodingKeys: String, CodingKey { case id, item, type, data, at, runId = "run_id" }

    public init(_ event: ImportEvent) {
        id = event.id ?? 0
        runId = event.runId
        item = event.itemIndex
        type = event.type
        data = (try? JSONDecoder().decode([String: JSONScalar].self, from: Data(event.data.utf8))) ?? [:]
        at = event.at
    }
}
