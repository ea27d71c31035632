import Foundation
import GRDB
import Logging
import PostgresNIO
import Scheduler

/// The one database of a Switchyard process: the SQLite file (opened and migrated here, the queue's migrations and
/// the domain's in one place), or PostgreSQL (through a client its opener runs and migrates with
/// `postgresMigrator`). Every query runs in a transaction of `write` or `read` on a `StoreConnection`, and the
/// engine's queue driver enqueues inside those transactions, so business writes and their jobs commit together.
public final class AppDatabase: Sendable {
    enum Backend {
        case sqlite(DatabasePool)
        case postgres(PostgresStore)
    }

    let backend: Backend
    /// The SQLite file, or PostgreSQL's `host:port/database` (never the password).
    public let path: String

    /// Which engine the store runs on.
    public var engine: StoreEngineKind {
        switch backend {
        case .sqlite: .sqlite
        case .postgres: .postgresql
        }
    }

    /// The SQLite pool: the store's own, and the queue driver's (both write in the same transactions), for code that
    /// runs only on SQLite (the queue's wiring, file space, WAL checkpoints). Outside this module only the
    /// executable's wiring (and tests) see it, through `@_spi(Engine) import Store`; asking on PostgreSQL is a bug.
    @_spi(Engine) public var pool: DatabasePool {
        guard case .sqlite(let pool) = backend else { preconditionFailure("\(path) is a PostgreSQL database, not a SQLite file") }
        return pool
    }
    /// Opened at background QoS, i.e. beside a gateway: background reads and writes then run at idle CPU priority.
    let yieldsToGateway: Bool
    /// Background work on this database's write lock, which foreground writes lift (`write`).
    let idleWork = IdleWork()
    /// The `synchronous` setting every other write commits with.
    let synchronous: SQLiteOptions.Synchronous

    /// Opens `<dataDir>/switchyard.sqlite`, creating the directory if needed, and migrates it.
    public static func open(dataDir: String, synchronous: SQLiteOptions.Synchronous = .full, qos: DispatchQoS = .userInitiated) throws -> AppDatabase {
        try ensureWritableDirectory(dataDir)
        return try AppDatabase(options: SQLiteOptions(path: dataDir + "/switchyard.sqlite", synchronous: synchronous, qos: qos))
    }

    /// Opens `<dataDir>/switchyard.sqlite` only if it exists (and migrates it): for tools that read or steer a
    /// daemon's database, where a mistyped directory must not quietly become a new empty one.
    public static func openExisting(dataDir: String, synchronous: SQLiteOptions.Synchronous = .full) throws -> AppDatabase {
        let path = dataDir + "/switchyard.sqlite"
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError.dataDir("no database at \(path): check --data-dir (only `switchyard serve` creates one)")
        }
        return try AppDatabase(options: SQLiteOptions(path: path, synchronous: synchronous))
    }

    public init(options: SQLiteOptions) throws {
        path = options.path
        yieldsToGateway = options.qos == .background
        synchronous = options.synchronous
        let pool = try SQLiteDatabase.open(options)
        backend = .sqlite(pool)
        do {
            try Self.migrator.migrate(pool)
        } catch let error as DatabaseError {
            throw StoreError.database("cannot migrate \(options.path): \(SQLiteDatabase.describe(error))")
        }
    }

    /// A write for background work (purge, vacuum, settlement batches, import steps). Beside a gateway the database
    /// thread runs it under `SCHED_IDLE`: with only a lower nice value, the kernel lets such a batch finish its time
    /// slice before a woken request thread runs, and the request waits for it. A foreground writer that needs the
    /// lock lifts it (`write`).
    ///
    /// `durable: false` is for work that is simply done again if a power cut loses it (deleting expired rows,
    /// returning free pages): the transaction commits with `synchronous = NORMAL` (atomic and consistent in WAL
    /// mode, no fsync per commit), sparing the gateway's disk and CPU a thousand fsyncs per million rows purged.
    func backgroundWrite<T: Sendable>(durable: Bool = true, _ body: @Sendable @escaping (any StoreConnection) throws -> T) async throws -> T {
        guard case .sqlite(let pool) = backend else { return try await write(body) }
        guard !durable && synchronous != .normal else {
            return try await pool.write { db in try self.yielding(db) { try body(SQLiteStoreConnection(db)) } }
        }
        let restore = synchronous.rawValue
        return try await pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            defer { try? db.execute(sql: "PRAGMA synchronous = \(restore)") }
            return try self.yielding(db) {
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(SQLiteStoreConnection(db))
                    return .commit
                }
                return result!
            }
        }
    }

    /// A write someone waits for (a request's records, an API call): first lifts any background write that holds
    /// the lock under `SCHED_IDLE` (`IdleWork.boost`), so a busy machine cannot park it behind
    /// a starved background transaction.
    public func write<T: Sendable>(isolation: WriteIsolation = .serializable,
                                   _ body: @Sendable @escaping (any StoreConnection) throws -> T) async throws -> T {
        switch backend {
        case .sqlite(let pool):
            idleWork.boost()
            return try await pool.write { db in try body(SQLiteStoreConnection(db)) }
        case .postgres(let store):
            return try await store.transaction(PostgresStore.beginWrite(isolation), body)
        }
    }

    /// A read for background work, under the same policy as `backgroundWrite`.
    func backgroundRead<T: Sendable>(_ body: @Sendable @escaping (any StoreConnection) throws -> T) async throws -> T {
        guard case .sqlite(let pool) = backend else { return try await read(body) }
        return try await pool.read { db in try self.yielding(db) { try body(SQLiteStoreConnection(db)) } }
    }

    /// A read someone waits for.
    public func read<T: Sendable>(_ body: @Sendable @escaping (any StoreConnection) throws -> T) async throws -> T {
        switch backend {
        case .sqlite(let pool): try await pool.read { db in try body(SQLiteStoreConnection(db)) }
        case .postgres(let store): try await store.transaction(PostgresStore.beginRead, body)
        }
    }

    /// `backgroundRead` when `background`, an ordinary read otherwise: for queries shared by jobs and API handlers.
    func read<T: Sendable>(background: Bool, _ body: @Sendable @escaping (any StoreConnection) throws -> T) async throws -> T {
        background ? try await backgroundRead(body) : try await read(body)
    }

    /// `backgroundWrite` outside a transaction (vacuum and checkpoints).
    func backgroundWriteWithoutTransaction<T: Sendable>(_ body: @Sendable @escaping (any StoreConnection) throws -> T) async throws -> T {
        try await pool.writeWithoutTransaction { db in try self.yielding(db) { try body(SQLiteStoreConnection(db)) } }
    }

    /// Runs `body` on `db`'s thread beside a gateway under `SCHED_IDLE` and handing the CPU over every
    /// `CPUYield.interval` of SQLite work (see `CPUYield`); as it is otherwise.
    private func yielding<T>(_ db: Database, _ body: () throws -> T) rethrows -> T {
        guard yieldsToGateway else { return try body() }
        return try idleWork.run { try CPUYield.duringStatements(of: db, body) }
    }

    /// The store on PostgreSQL through `client` (which the caller runs, and has migrated with `postgresMigrator`);
    /// `threads` is the number of transactions that may run at once, normally the client's pool size.
    public init(postgres client: PostgresClient, location: String, threads: Int, logger: Logger) {
        path = location
        yieldsToGateway = false
        synchronous = .full
        backend = .postgres(PostgresStore(client: client, location: location, threads: threads, logger: logger))
    }

    /// Every PostgreSQL migration (the queue's and the domain's), under the same names as SQLite's.
    public static var postgresMigrator: PostgresMigrator {
        var migrator = PostgresMigrator()
        PostgresQueueSchema.register(in: &migrator)
        PostgresStoreSchema.register(in: &migrator)
        return migrator
    }

    /// Every migration, numbered and append-only.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        SQLiteQueueSchema.register(in: &migrator)
        StoreSchema.register(in: &migrator)
        ImportSchema.register(in: &migrator)
        SettlementSchema.register(in: &migrator)
        ReconcileSchema.register(in: &migrator)
        NodeSchema.register(in: &migrator)
        ClusterSchema.register(in: &migrator)
        ConsoleSchema.register(in: &migrator)
        RollupSchema.register(in: &migrator)
        return migrator
    }

    /// Creates `path` if missing and proves it writable, so a bad data dir fails at start with a clear message.
    public static func ensureWritableDirectory(_ path: String) throws {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: path, isDirectory: &isDirectory) {
            if !isDirectory.boolValue { throw StoreError.dataDir("\(path) exists and is not a directory") }
        } else {
            do {
                try manager.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                throw StoreError.dataDir("cannot create data directory \(path): \(error.localizedDescription)")
            }
        }
        let probe = path + "/.write-probe-\(getpid())"
        guard manager.createFile(atPath: probe, contents: Data()) else {
            throw StoreError.dataDir("data directory \(path) is not writable")
        }
        try? manager.removeItem(atPath: probe)
    }
}

/// How a write transaction is isolated on PostgreSQL. SQLite has one writer at a time: every write there is
/// serializable whatever is asked.
public enum WriteIsolation: Sendable {
    /// Every check-then-write invariant holds (a channel in use is not deleted, a checkpoint moves once).
    case serializable
    /// For writes that only insert rows under unique keys and add to counters (the record writer's flushes): no
    /// predicate locks to take and check, and never refused as unserializable. Table locks still order them (the
    /// settler's `EXCLUSIVE` lock on usage logs).
    case readCommitted
}
