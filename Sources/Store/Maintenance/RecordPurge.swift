import Scheduler

/// Deletes captured payloads and traces past their expiry, a small batch per write transaction with a yield
/// between batches, so no purge write holds the database long while the gateway keeps writing.
public struct RecordPurge: Sendable {
    let db: AppDatabase
    /// Rows deleted per write transaction.
    public let batchSize: Int

    public init(db: AppDatabase, batchSize: Int = 1000) {
        self.db = db
        self.batchSize = max(1, batchSize)
    }

    /// What a purge removed.
    public struct Removed: Sendable, Equatable {
        public var payloads: Int64 = 0
        /// Sealed payload bytes removed (the `bytes` of each payload row).
        public var payloadBytes: Int64 = 0
        public var traces: Int64 = 0
        /// Dashboard rollup rows past their span's keeping (`StatRollups.Span.keptMillis`).
        public var rollups: Int64 = 0
        public var batches: Int = 0

        public init() {}
    }

    /// Deletes every payload with `expires_at <= now`, then every trace with `expires_at <= now` (with any
    /// payload still attached to it), then the dashboards' rollup rows older than their span keeps. A trace that
    /// outlives its payload is kept with `has_payload` cleared.
    public func purge(now: Int64, progress: (Removed) -> Void = { _ in }) async throws -> Removed {
        var removed = Removed()
        let limit = batchSize
        while true {
            try Task.checkCancellation()
            let (rows, bytes) = try await db.backgroundWrite(durable: false) { db in try Self.deletePayloads(db, expiredAt: now, limit: limit) }
            guard rows > 0 else { break }
            removed.payloads += rows
            removed.payloadBytes += bytes
            removed.batches += 1
            progress(removed)
            await Task.yield()
        }
        while true {
            try Task.checkCancellation()
            let (rows, payloads, bytes) = try await db.backgroundWrite(durable: false) { db in try Self.deleteTraces(db, expiredAt: now, limit: limit) }
            guard rows > 0 else { break }
            removed.traces += rows
            removed.payloads += payloads
            removed.payloadBytes += bytes
            removed.batches += 1
            progress(removed)
            await Task.yield()
        }
        // A few hundred rows a day per model and channel: one statement per span and table.
        removed.rollups = try await db.backgroundWrite(durable: false) { db in try StatRollups.prune(now: now, in: db) }
        return removed
    }

    static func deletePayloads(_ db: any StoreConnection, expiredAt now: Int64, limit: Int) throws -> (rows: Int64, bytes: Int64) {
        let rows = try SQLRow.fetchAll(db, sql: """
            DELETE FROM payloads WHERE trace_id IN (SELECT trace_id FROM payloads WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)
            RETURNING trace_id, bytes
            """, arguments: [now, limit])
        guard !rows.isEmpty else { return (0, 0) }
        let ids = try rows.map { try $0.get(0, as: Int64.self) }
        try db.execute(sql: "UPDATE traces SET has_payload = 0 WHERE id IN (\(db.engine.idsFromJSON))",
                       arguments: [jsonArray(ids)])
        return (Int64(rows.count), try rows.reduce(0) { $0 + (try $1.get(1, as: Int64.self)) })
    }

    static func deleteTraces(_ db: any StoreConnection, expiredAt now: Int64, limit: Int) throws -> (rows: Int64, payloads: Int64, bytes: Int64) {
        let ids = try Int64.fetchAll(db, sql: "SELECT id FROM traces WHERE expires_at <= ? ORDER BY expires_at LIMIT ?",
                                     arguments: [now, limit])
        guard !ids.isEmpty else { return (0, 0, 0) }
        let list = jsonArray(ids)
        // Payloads first and explicitly (not by cascade), so their bytes are counted.
        let payloads = try Int64.fetchAll(db, sql: """
            DELETE FROM payloads WHERE trace_id IN (\(db.engine.idsFromJSON)) RETURNING bytes
            """, arguments: [list])
        try db.execute(sql: "DELETE FROM traces WHERE id IN (\(db.engine.idsFromJSON))", arguments: [list])
        return (Int64(db.changesCount), Int64(payloads.count), payloads.reduce(0, +))
    }

    private static func jsonArray(_ ids: [Int64]) -> String { "[" + ids.map(String.init).joined(separator: ",") + "]" }
}

extension AppDatabase {
    /// Deletes up to `limit` events of batch-import runs that finished before `cutoff` (UTC ms); returns how many.
    public func pruneImportEvents(runsFinishedBefore cutoff: Int64, limit: Int) async throws -> Int {
        try await backgroundWrite { db in try ImportEvent.prune(db, runsFinishedBefore: cutoff, limit: limit) }
    }
}
