import Foundation
import GRDB

/// How the shared SQLite file is opened.
public struct SQLiteOptions: Sendable {
    /// `FULL` (fsync on every commit, the default) or `NORMAL` (fsync at checkpoints only).
    public enum Synchronous: String, Sendable, CaseIterable {
        case full = "FULL"
        case normal = "NORMAL"
    }

    public var path: String
    public var synchronous: Synchronous
    /// How long a writer waits for another process's transaction before giving up.
    public var busyTimeout: Duration
    public var readonly: Bool
    /// The dispatch QoS of GRDB's database queues. GRDB's default, user-initiated, runs database work on threads
    /// above normal priority on Linux; a daemon that also serves requests lowers it so the gateway comes first.
    public var qos: DispatchQoS

    public init(path: String, synchronous: Synchronous = .full, busyTimeout: Duration = .seconds(10), readonly: Bool = false,
                qos: DispatchQoS = .userInitiated) {
        self.qos = qos
        self.path = path
        self.synchronous = synchronous
        self.busyTimeout = busyTimeout
        self.readonly = readonly
    }
}

/// Opens the one `DatabasePool` a process uses for its SQLite file, with the settings the queue relies on.
public enum SQLiteDatabase {
    /// Opens (creating if needed) the database in WAL mode with a jittered busy handler and the chosen durability.
    public static func open(_ options: SQLiteOptions) throws -> DatabasePool {
        var config = Configuration()
        config.readonly = options.readonly
        config.qos = options.qos
        config.busyMode = .callback(jitteredBusyHandler(timeout: options.busyTimeout))
        config.maximumReaderCount = 4
        config.prepareDatabase { db in
            // Larger cache and memory temp store: the queue's hot indexes stay in memory.
            try db.execute(sql: "PRAGMA cache_size = -16000; PRAGMA temp_store = MEMORY")
        }
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: options.path, configuration: config)
        } catch let error as DatabaseError {
            throw SchedulerError.database("cannot open database \(options.path): \(describe(error))")
        }
        if !options.readonly {
            // GRDB sets synchronous=NORMAL on the writer after prepareDatabase runs: set it again here.
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = \(options.synchronous.rawValue)")
                if try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") == 0 {
                    // WAL mode has already written the header, so the setting only takes hold through a VACUUM
                    // (instant on an empty file); without it `auto_vacuum` silently stays NONE.
                    try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL")
                    try db.execute(sql: "VACUUM")
                }
            }
        }
        return pool
    }

    /// The durability settings read back from the writer connection.
    public static func durability(of pool: DatabasePool) throws -> (journalMode: String, synchronous: String) {
        try pool.writeWithoutTransaction { db in
            let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "?"
            let sync = try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1
            let names = [0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"]
            return (mode, names[sync] ?? "\(sync)")
        }
    }

    /// The SQLite library's version, e.g. `3.46.1`.
    public static func version(of pool: DatabasePool) async throws -> String {
        try await pool.read { db in try String.fetchOne(db, sql: "SELECT sqlite_version()") } ?? "?"
    }

    /// A readable message for a GRDB error, without the SQL arguments (they may hold secrets).
    public static func describe(_ error: DatabaseError) -> String {
        "\(error.message ?? "SQLite error") (SQLite code \(error.extendedResultCode.rawValue))"
    }

    /// Sleeps a short, random, growing time between retries so two processes take turns instead of one starving;
    /// gives up (SQLITE_BUSY) once `timeout` has been spent.
    static func jitteredBusyHandler(timeout: Duration) -> Database.BusyCallback {
        let budgetMicros = timeout.milliseconds * 1000
        return { tries in
            // Expected sleep grows 50 µs, 100 µs, ... up to 2 ms; the sum of expected sleeps bounds the wait.
            let ceiling = min(2000, 50 << min(tries, 6))
            let spent = Int64(min(tries, 6)) * 1000 + Int64(max(0, tries - 6)) * 2000
            if spent > budgetMicros { return false }
            usleep(UInt32.random(in: UInt32(ceiling / 2)...UInt32(ceiling * 3 / 2)))
            return true
        }
    }
}
