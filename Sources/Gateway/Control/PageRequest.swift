import Hummingbird
import Store

/// `?cursor=&limit=` of a list endpoint: items with an id below the cursor, newest first.
struct PageRequest {
    var before: Int64?
    var limit: Int

    /// `cursorRequired: false` leaves `cursor` to the caller (lists whose cursor is not an id).
    init(_ request: Request, defaultLimit: Int = 50, cursorRequired: Bool = true) throws {
        let query = request.uri.queryParameters
        before = nil
        limit = defaultLimit
        if cursorRequired, let cursor = query["cursor"] {
            guard let value = Int64(cursor) else { throw Problem(.badRequest, "invalid cursor") }
            before = value
        }
        if let raw = query["limit"] {
            guard let value = Int(raw), (1...500).contains(value) else { throw Problem(.badRequest, "limit must be 1 to 500") }
            limit = value
        }
    }

    /// The store's page for this request.
    var store: Page { Page(before: before, limit: limit) }

    /// Splits a fetch of `limit + 1` rows into the page and the next cursor.
    func page<Item>(_ rows: [Item], id: (Item) -> Int64) -> (items: [Item], next: String?) {
        let items = Array(rows.prefix(limit))
        return (items, rows.count > limit ? items.last.map { String(id($0)) } : nil)
    }
}

/// `?cursor=<created_at>:<id>` of a list of runs (string ids, newest first); nil on the first page, 400 when malformed.
func runCursor(_ request: Request) throws -> (Int64, String)? {
    guard let raw = request.uri.queryParameters["cursor"] else { return nil }
    let parts = raw.split(separator: ":", maxSplits: 1)
    guard parts.count == 2, let createdAt = Int64(parts[0]) else { throw Problem(.badRequest, "invalid cursor") }
    return (createdAt, String(parts[1]))
}

/// An integer path parameter, 400 when it is not one.
func idParameter(_ context: some RequestContext, _ name: String = "id") throws -> Int64 {
    let raw = try context.parameters.require(name)
    guard let id = Int64(raw) else { throw Problem(.badRequest, "\(name) must be an integer, got \(raw)") }
    return id
}
