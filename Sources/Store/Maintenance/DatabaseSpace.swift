import Foundation
import GRDB

/// How much room the database takes, and giving free room back to the file system.
///
/// New databases are created with `auto_vacuum = INCREMENTAL` (see `SQLiteDatabase.open`), so pages freed by
/// deletes can be returned with `PRAGMA incremental_vacuum` in short steps, each its own write transaction;
/// a database created before that setting existed keeps its free pages for reuse by later inserts instead
/// (turning it on needs a full `VACUUM`, which rewrites the file under one long lock: never done here).
///
/// On PostgreSQL the server owns its files: `usage` reports `pg_database_size` as the file, and autovacuum returns
/// room on its own schedule, so `releaseFreePages` and `checkpointWAL` have nothing to do.
public struct DatabaseSpace: Sendable {
    let db: AppDatabase

    public init(db: AppDatabase) { self.db = db }

    /// Sizes at one moment: the main file and its write-ahead log on disk, and the free pages inside.
    public struct Usage: Sendable, Equatable, Codable {
        /// Bytes of the main database file.
        public var fileBytes: Int64
        /// Bytes of the `-wal` file (0 when absent).
        public var walBytes: Int64
        /// Pages on the free list (reusable, or returnable by incremental vacuum).
        public var freePages: Int64
        public var pageSize: Int64

        /// Main file plus WAL: what the database takes on disk.
        public var totalBytes: Int64 { fileBytes + walBytes }
    }

    /// The sizes now.
    public func usage() async throws -> Usage {
        guard db.engine == .sqlite else {
            let bytes = try await db.read { db in
                try Int64.fetchOne(db, sql: "SELECT pg_database_size(current_database())") ?? 0
            }
            return Usage(fileBytes: bytes, walBytes: 0, freePages: 0, pageSize: 8192)
        }
        let (free, pageSize) = try await db.pool.read { db in
            (try Int64.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0, try Int64.fetchOne(db, sql: "PRAGMA page_size") ?? 0)
        }
        return Usage(fileBytes: Self.fileSize(db.path), walBytes: Self.fileSize(db.path + "-wal"), freePages: free, pageSize: pageSize)
    }

    /// Whether free pages can be returned with incremental vacuum (`auto_vacuum = INCREMENTAL`).
    public func incrementalVacuumEnabled() async throws -> Bool {
        guard db.engine == .sqlite else { return false }
        return try await db.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA auto_vacuum") == 2 }
    }

    /// Returns free pages to the file system, `step` pages per write transaction, yielding between steps so
    /// other writers interleave. Returns the pages released (0 without incremental auto-vacuum).
    public func releaseFreePages(step: Int = 1000) async throws -> Int64 {
        guard try await incrementalVacuumEnabled() else { return 0 }
        var released: Int64 = 0
        while true {
            try Task.checkCancellation()
            let freed = try await db.backgroundWriteWithoutTransaction { db -> Int64 in
                let before = try Int64.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
                guard before > 0 else { return 0 }
                try db.execute(sql: "PRAGMA incremental_vacuum(\(max(1, step)))")
                return before - (try Int64.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0)
            }
            released += freed
            if freed == 0 { return released }
            await Task.yield()
        }
    }

    /// The result of `PRAGMA wal_checkpoint(TRUNCATE)`.
    public struct Checkpoint: Sendable, Equatable, Codable {
        /// True when a reader or writer kept the checkpoint from finishing (the WAL is then not truncated).
        public var busy: Bool
        public var walFrames: Int64
        public var checkpointedFrames: Int64
    }

    /// Copies the WAL into the main file and truncates the WAL to zero bytes when no reader still needs it.
    public func checkpointWAL() async throws -> Checkpoint {
        guard db.engine == .sqlite else { return Checkpoint(busy: false, walFrames: 0, checkpointedFrames: 0) }
        return try await db.backgroundWriteWithoutTransaction { db in
            let row = try SQLRow.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            return Checkpoint(busy: (try row?.get(0, as: Int64.self) ?? 0) != 0, walFrames: try row?.get(1) ?? 0,
                              checkpointedFrames: try row?.get(2) ?? 0)
        }
    }

    /// What `reclaim` did.
    public struct Reclaimed: Sendable, Equatable {
        public var pagesReleased: Int64
        public var checkpoint: Checkpoint
    }

    /// Gives room back: free pages first (when incremental vacuum is on), then a truncating WAL checkpoint so the
    /// shrink reaches the main file and the WAL goes back to zero bytes.
    public func reclaim() async throws -> Reclaimed {
        let released = try await releaseFreePages()
        return Reclaimed(pagesReleased: released, checkpoint: try await checkpointWAL())
    }

    static func fileSize(_ path: String) -> Int64 {
        let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber
        return size?.int64Value ?? 0
    }
}
