/// A row type of one table, read and written through `StoreConnection` on either engine: its `CodingKeys` are the
/// column names (see `RecordEncoder` for how values are stored).
public protocol StoreRecord: Codable, Sendable {
    /// The table's name.
    static var databaseTableName: String { get }
    /// The primary key's columns.
    static var primaryKey: [String] { get }
}

/// A record whose `id` the database assigns on insert.
public protocol IdentifiedRecord: StoreRecord {
    var id: Int64? { get set }
}

extension StoreRecord {
    public static var primaryKey: [String] { ["id"] }

    /// A record decoded from `row`.
    public init(row: SQLRow) throws {
        self = try Self(from: RecordDecoder(row: row))
    }

    /// The record with this primary key (a single-column key).
    public static func fetchOne(_ db: any StoreConnection, key: some SQLValueConvertible) throws -> Self? {
        try fetchOne(db, sql: "SELECT * FROM \(databaseTableName) WHERE \(primaryKey[0]) = ?", arguments: [key])
    }

    /// The record with this primary key, given by column.
    public static func fetchOne(_ db: any StoreConnection, key: [String: any SQLValueConvertible]) throws -> Self? {
        let names = key.keys.sorted()
        return try fetchOne(db, sql: "SELECT * FROM \(databaseTableName) WHERE " + names.map { "\($0) = ?" }.joined(separator: " AND "),
                            arguments: SQLArguments(names.map { key[$0]! }))
    }

    /// The first record `sql` selects.
    public static func fetchOne(_ db: any StoreConnection, sql: String, arguments: SQLArguments = []) throws -> Self? {
        try db.fetchRows(sql: sql, arguments: arguments).first.map(Self.init(row:))
    }

    /// Every record `sql` selects.
    public static func fetchAll(_ db: any StoreConnection, sql: String, arguments: SQLArguments = []) throws -> [Self] {
        try db.fetchRows(sql: sql, arguments: arguments).map(Self.init(row:))
    }

    /// Every row of the table, in no promised order.
    public static func fetchAll(_ db: any StoreConnection) throws -> [Self] {
        try fetchAll(db, sql: "SELECT * FROM \(databaseTableName)")
    }

    /// Whether a row with this primary key exists.
    public static func exists(_ db: any StoreConnection, key: some SQLValueConvertible) throws -> Bool {
        try Int64.fetchOne(db, sql: "SELECT 1 FROM \(databaseTableName) WHERE \(primaryKey[0]) = ?", arguments: [key]) != nil
    }

    /// Deletes the row with this primary key; false when there was none.
    @discardableResult
    public static func deleteOne(_ db: any StoreConnection, key: some SQLValueConvertible) throws -> Bool {
        try db.execute(sql: "DELETE FROM \(databaseTableName) WHERE \(primaryKey[0]) = ?", arguments: [key])
        return db.changesCount > 0
    }

    /// Inserts the record with every column it encodes.
    public func insert(_ db: any StoreConnection) throws {
        let columns = try RecordEncoder.columns(of: self)
        try db.execute(sql: Self.insertSQL(columns.map(\.name)), arguments: SQLArguments(values: columns.map(\.value)))
    }

    /// Inserts `records` with multi-row `INSERT`s, at most 500 rows (and far fewer parameters than either engine
    /// allows) per statement.
    public static func insertAll(_ db: any StoreConnection, _ records: [Self]) throws {
        let encoded = try records.map { try RecordEncoder.columns(of: $0) }
        guard let first = encoded.first else { return }
        try db.insertRows(into: databaseTableName, columns: first.map(\.name), rows: encoded.map { $0.map(\.value) })
    }

    /// Inserts the record, or replaces every column of the row with the same primary key.
    public func save(_ db: any StoreConnection) throws {
        let columns = try RecordEncoder.columns(of: self)
        let updates = columns.map(\.name).filter { !Self.primaryKey.contains($0) }.map { "\($0) = excluded.\($0)" }
        try db.execute(sql: Self.insertSQL(columns.map(\.name))
                            + " ON CONFLICT (\(Self.primaryKey.joined(separator: ", "))) DO UPDATE SET "
                            + updates.joined(separator: ", "),
                       arguments: SQLArguments(values: columns.map(\.value)))
    }

    /// Writes the record's columns (all but the key, or only `columns`) to its row; throws `notFound` when the row
    /// is gone.
    public func update(_ db: any StoreConnection, columns only: Set<String>? = nil) throws {
        let columns = try RecordEncoder.columns(of: self)
        let set = columns.filter { !Self.primaryKey.contains($0.name) && only?.contains($0.name) ?? true }
        var key: [SQLValue] = []
        for name in Self.primaryKey {
            guard let value = columns.first(where: { $0.name == name })?.value, value != .null else {
                throw StoreError.invalid("\(Self.databaseTableName): cannot update a row without its key")
            }
            key.append(value)
        }
        try db.execute(sql: "UPDATE \(Self.databaseTableName) SET " + set.map { "\($0.name) = ?" }.joined(separator: ", ")
                            + " WHERE " + Self.primaryKey.map { "\($0) = ?" }.joined(separator: " AND "),
                       arguments: SQLArguments(values: set.map(\.value) + key))
        if db.changesCount == 0 { throw StoreError.notFound("\(Self.databaseTableName) row not found") }
    }

    static func insertSQL(_ names: [String]) -> String {
        "INSERT INTO \(databaseTableName) (\(names.joined(separator: ", "))) VALUES " + sqlPlaceholders(rows: 1, columns: names.count)
    }
}

extension IdentifiedRecord {
    /// Inserts the record and sets its `id` to the one the database assigned (or keeps the one it had).
    public mutating func insert(_ db: any StoreConnection) throws {
        var columns = try RecordEncoder.columns(of: self)
        if id == nil { columns.removeAll { $0.name == "id" } }
        guard let assigned = try Int64.fetchOne(db, sql: Self.insertSQL(columns.map(\.name)) + " RETURNING id",
                                                arguments: SQLArguments(values: columns.map(\.value))) else {
            throw StoreError.database("\(Self.databaseTableName): insert returned no id")
        }
        id = assigned
    }
}
