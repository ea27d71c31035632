
/// A page of a list by id, newest first: rows with an id below `before`, at most `limit`, plus one more row so the
/// caller can tell whether a next page exists.
public struct Page: Sendable {
    public var before: Int64?
    public var limit: Int

    public init(before: Int64?, limit: Int) {
        self.before = before
        self.limit = limit
    }
}

extension AppDatabase {
    /// `limit + 1` rows of `Record` by id, newest first, with `filters`.
    func rows<Record: StoreRecord>(_ type: Record.Type, _ page: Page, where filter: SQLFilter = SQLFilter()) async throws -> [Record] {
        var filter = filter
        if let before = page.before { filter.add("id < ?", [before]) }
        let query = "SELECT * FROM \(Record.databaseTableName)\(filter.whereClause) ORDER BY id DESC LIMIT ?"
        let arguments = filter.arguments + [page.limit + 1]
        return try await read { db in try Record.fetchAll(db, sql: query, arguments: arguments) }
    }

    /// One `Record` by id; `background` for a job's read (see `backgroundRead`).
    func one<Record: StoreRecord>(_ type: Record.Type, _ id: Int64, background: Bool = false) async throws -> Record? {
        try await read(background: background) { db in try Record.fetchOne(db, key: id) }
    }

    /// Inserts a record and returns it with its new id.
    func inserted<Record: IdentifiedRecord>(_ record: Record) async throws -> Record {
        try await write { db in
            var copy = record
            try copy.insert(db)
            return copy
        }
    }
}
