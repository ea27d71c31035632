import Foundation

/// Copies an operator's SQLite database into PostgreSQL (`switchyard db copy`): every table a daemon keeps, parents
/// before children, in batches read in rowid order. Each batch commits on PostgreSQL in one transaction with this
/// copy's cursor for its table (`copy_progress`), so a copy cut off anywhere resumes after the last batch that
/// committed and never writes a row twice; a run after a finished copy copies only rows the source gained since.
/// Ids are kept (foreign keys, settlement's log ids and job ids stay true) and the identity sequences moved past
/// them. Sealed keys and payloads are copied as sealed bytes, never opened except to prove the key given opens them.
public struct DatabaseCopy: Sendable {
    /// A copied table, its rows chosen by `filter` (a SQLite condition), and what a row whose key the target
    /// already holds does.
    public struct Table: Sendable {
        public let name: String
        let filter: String?
        let onConflict: Conflict

        enum Conflict: Sendable {
            /// The target's row stays; the source's is counted as skipped.
            case skip
            /// The source's row replaces a row the target only seeded (its own start wrote it and nothing has used it
            /// yet, `unused` holds); a used row stays and the source's is skipped.
            case replaceUnused(key: String, unused: String)
        }

        init(_ name: String, filter: String? = nil, onConflict: Conflict = .skip) {
            self.name = name
            self.filter = filter
            self.onConflict = onConflict
        }

        /// Whether the target's start writes rows of this table itself.
        var seeded: Bool {
            if case .replaceUnused = onConflict { return true }
            return false
        }

        /// Whether a target row of this table is the operator's data (not a seed the target's start wrote).
        var heldCondition: String {
            switch onConflict {
            case .skip: "TRUE"
            case .replaceUnused(_, let unused): "NOT (\(unused))"
            }
        }
    }

    /// Every table copied, parents before children (PostgreSQL checks foreign keys per row).
    public static let tables: [Table] = [
        Table("users"), Table("api_keys"), Table("nodes"), Table("channels"), Table("model_prices"),
        Table("traces"), Table("payloads"), Table("payload_audit"), Table("usage_logs"), Table("stat_rollups"), Table("latency_rollups"),
        Table("settlement_checkpoint", onConflict: .replaceUnused(key: "id", unused: "settlement_checkpoint.last_log_id = 0")),
        Table("ledger"),
        Table("import_runs"), Table("import_items"), Table("import_changes"), Table("import_events"),
        Table("reconcile_runs"), Table("reconcile_results"),
        Table("schedules", onConflict: .replaceUnused(key: "name", unused: "schedules.last_slot_at IS NULL")),
        // Work not yet done; finished jobs are history the queue prunes anyway. A running job's lease is copied as it
        // is: the source daemon is stopped, so the lease has expired or soon will, and rescue runs it again.
        Table("jobs", filter: "state IN ('available','scheduled','running','retryable')"),
    ]

    /// The source's tables deliberately left behind, and why (a test holds every source table to one of the lists).
    public static let notCopied: [String: String] = [
        "processes": "the registry of running processes; each PostgreSQL process registers itself",
        "grdb_migrations": "SQLite's migration record; PostgreSQL's migrations ran when the target was opened",
        "console_sessions": "console sign-ins, which expire in hours; operators sign in again on the moved daemon",
    ]

    /// A table's rows on each side and what this run did with them.
    public struct TableCount: Sendable, Codable, Equatable {
        public let table: String
        public let source: Int64
        public var copied: Int64 = 0
        public var skipped: Int64 = 0
        public var target: Int64 = 0

        public init(table: String, source: Int64) {
            self.table = table
            self.source = source
        }
    }

    /// What a copy would do, found before it writes anything.
    public struct Plan: Sendable {
        public let counts: [TableCount]
        /// Rows already copied by an earlier run from this source.
        public let resumedRows: Int64
        /// Rows the target held that no copy from this source wrote, per table (a copy into them was allowed).
        public let held: [String: Int64]
        public var sourceRows: Int64 { counts.reduce(0) { $0 + $1.source } }

        /// The tables whose counts after a copy show a source row missing: the target must hold exactly the source's
        /// rows, or at least them where it held rows of its own (data it was allowed to keep, or seeds its start
        /// wrote that the source had no row for).
        public func mismatched(_ after: [TableCount]) -> [String] {
            after.filter { count in
                let table = DatabaseCopy.tables.first { $0.name == count.table }
                let mayHoldMore = held[count.table] != nil || table?.seeded == true
                return mayHoldMore ? count.target < count.source : count.target != count.source
            }.map(\.table)
        }
    }

    /// The keys the sealed columns must open with: the secret key (upstream keys) and the payload key.
    public struct Keys: Sendable {
        public let secrets: SecretBox?
        public let payloads: SecretBox?

        public init(secrets: SecretBox?, payloads: SecretBox?) {
            self.secrets = secrets
            self.payloads = payloads
        }
    }

    let source: AppDatabase
    let target: AppDatabase
    /// What names the source in `copy_progress`: the SQLite file's absolute path.
    let sourceName: String

    public init(from source: AppDatabase, to target: AppDatabase) throws {
        guard source.engine == .sqlite else { throw StoreError.invalid("the copy's source must be a SQLite file") }
        guard target.engine == .postgresql else { throw StoreError.invalid("the copy's target must be PostgreSQL") }
        self.source = source
        self.target = target
        sourceName = URL(fileURLWithPath: source.path).standardizedFileURL.path
    }

    // MARK: - Checks

    /// Checks everything before a row is written: no process runs on either database, the keys open the sealed
    /// columns, the target's tables have every column the source's do, and the target holds no data of its own
    /// unless `intoNonEmpty` (a target holding only an earlier copy of this source is resumed).
    public func plan(keys: Keys, intoNonEmpty: Bool, now: Int64, heartbeatDeadline: Int64 = ClusterProcess.defaultDeadAfterMs) async throws -> Plan {
        try await refuseRunningProcesses(now: now, deadline: heartbeatDeadline)
        try await checkKeys(keys)
        try await checkColumns()
        let counts = try await source.read { db in
            try Self.tables.map { table in
                TableCount(table: table.name, source: try Int64.fetchOne(
                    db, sql: "SELECT count(*) FROM \(table.name)" + (table.filter.map { " WHERE \($0)" } ?? "")) ?? 0)
            }
        }
        let sourceName = sourceName
        let (held, resumed) = try await target.read { db in
            let progress = try SQLRow.fetchAll(db, sql: "SELECT table_name, copied, skipped FROM copy_progress WHERE source = ?",
                                               arguments: [sourceName])
            var copied: [String: Int64] = [:]
            var resumed: Int64 = 0
            for row in progress {
                copied[try row.get(0, as: String.self)] = try row.get(1, as: Int64.self)
                resumed += try row.get(1, as: Int64.self) + row.get(2, as: Int64.self)
            }
            var held: [String: Int64] = [:]
            for table in Self.tables {
                let rows = try Int64.fetchOne(db, sql: "SELECT count(*) FROM \(table.name) WHERE \(table.heldCondition)") ?? 0
                let own = rows - (copied[table.name] ?? 0)
                if own > 0 { held[table.name] = own }
            }
            return (held, resumed)
        }
        if !held.isEmpty && !intoNonEmpty {
            let list = held.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            throw StoreError.conflict(
                "\(target.path) already holds data (\(list) rows): copy into an empty database, or pass --into-non-empty to "
                + "keep the target's rows and skip every source row whose key the target already has")
        }
        return Plan(counts: counts, resumedRows: resumed, held: held)
    }

    /// Refuses while a process heartbeats on either database: a daemon writing the source makes the copy a torn
    /// snapshot, one on the target takes ids the copy is about to write.
    private func refuseRunningProcesses(now: Int64, deadline: Int64) async throws {
        for (db, role) in [(source, "source"), (target, "target")] {
            guard let process = try await db.liveProcesses(now: now, deadAfter: deadline).first else { continue }
            let ago = max(0, now - process.heartbeatAt) / 1000
            throw StoreError.conflict(
                "process \(process.id) (\(process.role), pid \(process.pid) on \(process.host)) heartbeat \(ago) s ago on the "
                + "\(role) \(db.path): stop every daemon on both databases before copying (a process that died is "
                + "forgotten \(deadline / 1000) s after its last heartbeat)")
        }
    }

    /// The sealed columns: each must open with the key given, on both sides (so the copy keeps every row readable by
    /// the processes that will run with that key).
    private static let sealedColumns: [(table: String, column: String, payload: Bool)] = [
        ("channels", "api_key_sealed", false), ("nodes", "relay_key_sealed", false), ("import_items", "api_key_sealed", false),
        ("payloads", "coalesce(request_sealed, response_sealed)", true),
    ]

    private func checkKeys(_ keys: Keys) async throws {
        for (db, role) in [(source, "source"), (target, "target")] {
            let samples = try await db.read { db in
                try Self.sealedColumns.compactMap { sealed in
                    try Data.fetchOne(db, sql: "SELECT \(sealed.column) FROM \(sealed.table) WHERE \(sealed.column) IS NOT NULL LIMIT 1")
                        .map { (sealed, $0) }
                }
            }
            for (sealed, bytes) in samples {
                let (box, name) = sealed.payload
                    ? (keys.payloads, "the payload key (SWITCHYARD_PAYLOAD_KEY)")
                    : (keys.secrets, "the secret key (--secret-key-file or SWITCHYARD_SECRET_KEY)")
                guard let box else {
                    throw StoreError.invalid(
                        "the \(role) \(db.path) holds sealed \(sealed.table) rows: give \(name) they were sealed with; "
                        + "the PostgreSQL processes must run with the same key")
                }
                guard (try? box.open(bytes)) != nil else {
                    throw StoreError.invalid(
                        "\(name) given does not open the sealed \(sealed.table) rows of the \(role) \(db.path): give the key "
                        + "the SQLite daemon ran with")
                }
            }
        }
    }

    /// Every source column must exist on the target (a source from a newer build than the target's schema is refused).
    private func checkColumns() async throws {
        let sourceColumns = try await source.read { db in
            try Dictionary(uniqueKeysWithValues: Self.tables.map { table in
                (table.name, try String.fetchAll(db, sql: "SELECT name FROM pragma_table_info(?)", arguments: [table.name]))
            })
        }
        let targetTypes = try await targetColumnTypes()
        for table in Self.tables {
            let missing = (sourceColumns[table.name] ?? []).filter { targetTypes[table.name]?[$0] == nil }
            guard missing.isEmpty else {
                throw StoreError.invalid("the target's \(table.name) lacks column(s) \(missing.joined(separator: ", ")) the "
                                         + "source has: run this build's `switchyard db status` on both and copy with the newer build")
            }
        }
    }

    /// Each target table's columns and their PostgreSQL types (`int8`, `int4`, `text`, `bytea`, `jsonb`, `bool`).
    private func targetColumnTypes() async throws -> [String: [String: String]] {
        try await target.read { db in
            var types: [String: [String: String]] = [:]
            for row in try SQLRow.fetchAll(db, sql: """
                SELECT table_name, column_name, udt_name FROM information_schema.columns WHERE table_schema = current_schema()
                """) {
                types[try row.get(0, as: String.self), default: [:]][try row.get(1, as: String.self)] = try row.get(2, as: String.self)
            }
            return types
        }
    }

    // MARK: - Copy

    /// Copies every table, then moves the identity sequences past the copied ids and counts both sides.
    /// `progress` hears the rows done so far (of `plan.sourceRows`, resumed rows included) and the table at work.
    public func run(_ plan: Plan, batchRows: Int = 5000, now: @Sendable () -> Int64,
                    progress: (Int64, String) -> Void) async throws -> [TableCount] {
        let types = try await targetColumnTypes()
        var counts = plan.counts
        var done = plan.resumedRows
        for index in Self.tables.indices {
            let table = Self.tables[index]
            guard let columnTypes = types[table.name] else { throw StoreError.database("the target has no table \(table.name)") }
            // Captured bodies run to 2 × 64 KiB a row by default: their batches are kept to a few megabytes.
            let rows = table.name == "payloads" ? min(batchRows, 100) : batchRows
            try await copy(table, types: columnTypes, batchRows: rows, now: now) { copied, skipped in
                counts[index].copied += copied
                counts[index].skipped += skipped
                done += copied + skipped
                progress(done, table.name)
            }
            if columnTypes["id"] == "int8" { try await moveIdentity(of: table.name) }
        }
        let targetCounts = try await target.read { db in
            try Self.tables.map { try Int64.fetchOne(db, sql: "SELECT count(*) FROM \($0.name)") ?? 0 }
        }
        for index in counts.indices { counts[index].target = targetCounts[index] }
        return counts
    }

    /// One table, batch by batch from its cursor; the next batch is read from SQLite while this one is written.
    private func copy(_ table: Table, types: [String: String], batchRows: Int, now: @Sendable () -> Int64,
                      counted: (Int64, Int64) -> Void) async throws {
        let sourceName = sourceName
        var cursor = try await target.read { db in
            try Int64.fetchOne(db, sql: "SELECT last_rowid FROM copy_progress WHERE source = ? AND table_name = ?",
                               arguments: [sourceName, table.name]) ?? 0
        }
        var batch = try await read(table, after: cursor, limit: batchRows)
        while let last = batch.last {
            try Task.checkCancellation()
            let through = try last.get(0, as: Int64.self)
            async let next = read(table, after: through, limit: batchRows)
            let (copied, skipped) = try await write(batch, of: table, types: types, after: cursor, through: through, now: now())
            counted(copied, skipped)
            cursor = through
            batch = try await next
        }
    }

    /// Up to `limit` source rows after `rowid`, in rowid order: the rowid (the copy's cursor) first, then the columns.
    private func read(_ table: Table, after rowid: Int64, limit: Int) async throws -> [SQLRow] {
        let condition = "rowid > ?" + (table.filter.map { " AND (\($0))" } ?? "")
        return try await source.read { db in
            try SQLRow.fetchAll(db, sql: "SELECT rowid AS copy_rowid, * FROM \(table.name) WHERE \(condition) ORDER BY rowid LIMIT ?",
                                arguments: [rowid, limit])
        }
    }

    /// Inserts a batch and moves the table's cursor from `cursor` to `through` in one transaction; returns rows written
    /// and skipped.
    private func write(_ rows: [SQLRow], of table: Table, types: [String: String], after cursor: Int64, through: Int64, now: Int64)
        async throws -> (copied: Int64, skipped: Int64) {
        let columns = Array(rows[0].columns.dropFirst())
        let columnTypes = try columns.map { column -> String in
            guard let type = types[column] else { throw StoreError.invalid("the target's \(table.name) has no column \(column)") }
            return type
        }
        // One array per column, unnested: the server parses one parameter per column instead of one per value (about
        // half its work per row), and no batch meets PostgreSQL's limit of 65,535 parameters. Blobs travel as `\x…`
        // hex text, which `bytea` reads; integers 0 and 1 are what `bool` reads for SQLite's booleans.
        let (values, arguments) = StoreEngineKind.postgresql.rows(rows.map { row in row.values.dropFirst().map(Self.arrayElement) },
                                                                        types: columnTypes)
        let sourceName = sourceName
        let conflict: String
        switch table.onConflict {
        case .skip:
            conflict = "ON CONFLICT DO NOTHING"
        case .replaceUnused(let key, let unused):
            conflict = "ON CONFLICT (\(key)) DO UPDATE SET "
                + columns.filter { $0 != key }.map { "\($0) = EXCLUDED.\($0)" }.joined(separator: ", ") + " WHERE \(unused)"
        }
        return try await target.write(isolation: .readCommitted) { db in
            try db.execute(sql: "INSERT INTO \(table.name) (\(columns.joined(separator: ", "))) \(values) \(conflict)", arguments: arguments)
            let copied = Int64(db.changesCount)
            let skipped = Int64(rows.count) - copied
            try db.execute(sql: """
                INSERT INTO copy_progress (source, table_name, last_rowid, copied, skipped, started_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (source, table_name) DO UPDATE SET last_rowid = EXCLUDED.last_rowid,
                copied = copy_progress.copied + EXCLUDED.copied, skipped = copy_progress.skipped + EXCLUDED.skipped,
                updated_at = EXCLUDED.updated_at WHERE copy_progress.last_rowid = ?
                """, arguments: [sourceName, table.name, through, copied, skipped, now, now, cursor])
            // Another copy of the same source moved the cursor meanwhile: this batch's rows may be doubled, so none land.
            guard db.changesCount == 1 else {
                throw StoreError.conflict("another copy from \(sourceName) is writing \(table.name): run one copy at a time")
            }
            return (copied, skipped)
        }
    }

    /// A value as an element of a PostgreSQL array's text form (blobs as `bytea` hex).
    static func arrayElement(_ value: SQLValue) -> SQLValue {
        guard case .blob(let data) = value else { return value }
        let hex = Array("0123456789abcdef".utf8)
        var text = [UInt8](#"\x"#.utf8)
        text.reserveCapacity(2 + data.count * 2)
        for byte in data {
            text.append(hex[Int(byte >> 4)])
            text.append(hex[Int(byte & 0x0f)])
        }
        return .text(String(decoding: text, as: UTF8.self))
    }

    /// Moves an identity column's sequence past the largest id, so the next row PostgreSQL numbers does not collide.
    private func moveIdentity(of table: String) async throws {
        try await target.write(isolation: .readCommitted) { db in
            _ = try db.fetchRows(sql: """
                SELECT setval(CAST(pg_get_serial_sequence(?, 'id') AS regclass), m) FROM (SELECT max(id) AS m FROM \(table)) AS ids
                WHERE m IS NOT NULL AND pg_get_serial_sequence(?, 'id') IS NOT NULL
                """, arguments: [table, table])
        }
    }
}
