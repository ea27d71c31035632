import GRDB
import Store

extension AppDatabase {
    /// Inserts a record and returns it with its new id.
    func inserted<Record: MutablePersistableRecord & Sendable>(_ record: Record) async throws -> Record {
        try await pool.write { db in
            var copy = record
            try copy.insert(db)
            return copy
        }
    }

    /// One page of a table by id, newest first (`page.limit + 1` rows, for `PageRequest.page`).
    func rows<Record: FetchableRecord & TableRecord & Sendable>(
        _ type: Record.Type, _ page: PageRequest, where filters: [SQLExpression] = []
    ) async throws -> [Record] {
        try await pool.read { db in
            var query = Record.order(Column("id").desc).limit(page.limit + 1)
            if let before = page.before { query = query.filter(Column("id") < before) }
            for filter in filters { query = query.filter(filter) }
            return try query.fetchAll(db)
        }
    }
}

/// `active` or `disabled`, else 422.
func activeOrDisabled(_ status: String) throws -> String {
    guard ["active", "disabled"].contains(status) else { throw Problem(.unprocessableContent, "status must be active or disabled") }
    return status
}
