import GRDB

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
    func rows<Record: FetchableRecord & TableRecord & Sendable>(_ type: Record.Type, _ page: Page,
                                                               where filters: [SQLExpression] = []) async throws -> [Record] {
        try await pool.read { db in
            var query = Record.order(Column("id").desc).limit(page.limit + 1)
            if let before = page.before { query = query.filter(Column("id") < before) }
            for filter in filters { query = query.filter(filter) }
            return try query.fetchAll(db)
        }
    }

    /// One `Record` by id; `background` for a job's read (see `backgroundRead`).
    func one<Record: FetchableRecord & TableRecord & Sendable>(_ type: Record.Type, _ id: Int64,
                                                              background: Bool = false) async throws -> Record? {
        try await read(background: background) { db in try Record.fetchOne(db, key: id) }
    }

    /// Inserts a record and returns it with its new id.
    func inserted<Record: MutablePersistableRecord & Sendable>(_ record: Record) async throws -> Record {
        try await write { db in
            var copy = record
            try copy.insert(db)
            return copy
        }
    }
}
