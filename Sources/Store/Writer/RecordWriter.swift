import Foundation
import Logging
import Scheduler
import ServiceLifecycle
import Synchronization

/// What requests through a channel found, written with the next batch. Failures are counted in the database
/// (`channels.failure_streak`), so the failures of every process sharing it add up: a channel is auto-disabled when
/// `autoDisableAfter` requests in a row fail, whichever processes served them (or at once when one process saw that
/// many itself). A success anywhere starts the count again.
public struct ChannelHealthChange: Sendable, Equatable {
    public var channelId: Int64
    /// A request succeeded: the count starts from zero (before `failures`).
    public var reset: Bool
    /// Failed requests since then (or since the last batch).
    public var failures: Int
    /// This process saw `autoDisableAfter` failures in a row itself.
    public var autoDisable: Bool
    /// The last failure's reason.
    public var reason: String?

    public init(channelId: Int64, reset: Bool = false, failures: Int = 0, autoDisable: Bool = false, reason: String? = nil) {
        self.channelId = channelId
        self.reset = reset
        self.failures = failures
        self.autoDisable = autoDisable
        self.reason = reason
    }

    /// This change followed by `next` (both in one batch).
    func then(_ next: ChannelHealthChange) -> ChannelHealthChange {
        var merged = next.reset ? next : self
        if !next.reset { merged.failures += next.failures }
        merged.autoDisable = autoDisable || next.autoDisable
        merged.reason = next.reason ?? reason
        return merged
    }
}

/// Takes request records off the request path and commits them in batches: a request never waits on a
/// database write. A graceful shutdown flushes everything; a kill -9 loses at most what arrived in the last
/// flush interval (plus the batch being written).
///
/// While the database is unreachable the records wait here and the writer tries again with a growing pause (up to
/// `maxRetryDelay`); a batch whose commit was cut off is written again without doubling anything (request ids are
/// unique, and only traces inserted now bring their usage and spend). The wait is bounded: at `maxBuffered`
/// records `isFull` turns true, the relay refuses new requests (503) rather than serve answers it could not
/// bill, and records of refused requests (no usage) are dropped; records with usage are always kept.
public final class RecordWriter: Service {
    private struct Pending {
        var records: [RequestRecord] = []
        var health: [Int64: ChannelHealthChange] = [:]
        /// Records of the batch being written (counted against the bound until it commits).
        var writing = 0
    }

    let db: AppDatabase
    let flushInterval: Duration
    let maxBatch: Int
    /// Records held at most while the database is away (see the type's comment).
    public let maxBuffered: Int
    let maxRetryDelay: Duration
    /// Failures in a row, counted across processes, that auto-disable a channel.
    let autoDisableAfter: Int
    let logger: Logger
    /// Failed flushes in a row (0 while the database answers).
    private let failures = Mutex(0)
    /// Seals captured payloads; without it payloads are dropped.
    let payloadBox: SecretBox?
    private let pending = Mutex(Pending())
    private let signal = WakeSignal()
    /// Called after each commit with the records written (e.g. to add their cost to in-memory key spend).
    let onCommit: @Sendable ([RequestRecord]) -> Void

    public init(db: AppDatabase, payloadBox: SecretBox? = nil, flushInterval: Duration = .milliseconds(100), maxBatch: Int = 1000,
                maxBuffered: Int = 100_000, maxRetryDelay: Duration = .seconds(2), autoDisableAfter: Int = 5, logger: Logger,
                onCommit: @escaping @Sendable ([RequestRecord]) -> Void = { _ in }) {
        self.db = db
        self.autoDisableAfter = autoDisableAfter
        self.payloadBox = payloadBox
        self.flushInterval = flushInterval
        self.maxBatch = maxBatch
        self.maxBuffered = max(1, maxBuffered)
        self.maxRetryDelay = maxRetryDelay
        self.logger = logger
        self.onCommit = onCommit
    }

    /// Queues a record; never blocks on the database. When the buffer is full, a record without usage (a refused
    /// request's trace) is dropped.
    public func submit(_ record: RequestRecord) {
        let full = pending.withLock { p -> Bool in
            if record.usage == nil && p.records.count + p.writing >= maxBuffered { return false }
            p.records.append(record)
            return p.records.count >= maxBatch
        }
        if full { signal.raise(.work) }
    }

    /// Records waiting to be written.
    public var buffered: Int { pending.withLock { $0.records.count + $0.writing } }

    /// Whether the buffer reached `maxBuffered` (the database has been away that long): the relay then refuses
    /// requests it could not bill.
    public var isFull: Bool { buffered >= maxBuffered }

    /// Whether the last flush failed (the database is unreachable or refusing writes).
    public var isFailing: Bool { failures.withLock { $0 } > 0 }

    /// Queues what a request found about its channel (merged with what is queued for it already). A success is
    /// written with the next batch; a failure wakes the writer, so the count across processes moves at once.
    public func submit(_ change: ChannelHealthChange) {
        pending.withLock { p in p.health[change.channelId] = p.health[change.channelId].map { $0.then(change) } ?? change }
        if change.failures > 0 || change.autoDisable { signal.raise(.work) }
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                _ = await signal.wait(until: .now + retryPause())
                await flushLogging()
            }
        } onGracefulShutdown: {
            self.signal.raise(.stop)
        }
        // Shutdown: write whatever is still queued, waiting a little for a database that is away.
        let deadline = ContinuousClock.now + .seconds(10)
        await flushLogging()
        while isFailing && buffered > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(200))
            await flushLogging()
        }
        if buffered > 0 {
            logger.error("record writer stopped with records unwritten; the database stayed unreachable",
                         metadata: ["records": "\(buffered)"])
        } else {
            logger.info("record writer flushed")
        }
    }

    /// The flush interval, or while the database is away a pause doubling per failure up to `maxRetryDelay`.
    private func retryPause() -> Duration {
        let failed = failures.withLock { $0 }
        guard failed > 0 else { return flushInterval }
        return min(maxRetryDelay, flushInterval * (1 << min(failed, 10)))
    }

    private func flushLogging() async {
        do {
            try await flush()
            let failed = failures.withLock { f in defer { f = 0 }; return f }
            if failed > 0 { logger.notice("database reachable again; buffered records written", metadata: ["failed_flushes": "\(failed)"]) }
        } catch {
            let failed = failures.withLock { f in f += 1; return f }
            // The first failure, then one line in about every half minute: not one per retry.
            if failed == 1 || failed % 15 == 0 {
                logger.error("record flush failed; records wait in memory and are retried", metadata: [
                    "error": "\(error)", "buffered": "\(buffered)", "max_buffered": "\(maxBuffered)",
                ])
            }
        }
    }

    /// Writes everything queued in one transaction; on failure the records stay queued.
    public func flush() async throws {
        let batch = pending.withLock { p -> Pending in
            defer { p = Pending(writing: p.writing + p.records.count) }
            return p
        }
        guard !batch.records.isEmpty || !batch.health.isEmpty else { return }
        do {
            let sealed = try batch.records.map { record in try record.payload.flatMap { try seal($0) } }
            let autoDisableAfter = autoDisableAfter, mayHaveLanded = isFailing
            try await db.write(isolation: .readCommitted) { db in
                try Self.write(batch.records, sealed, batch.health.values, autoDisableAfter: autoDisableAfter,
                               mayHaveLanded: mayHaveLanded, in: db)
            }
            pending.withLock { $0.writing -= batch.records.count }
        } catch {
            pending.withLock { p in
                p.writing -= batch.records.count
                p.records.insert(contentsOf: batch.records, at: 0)
                for (id, change) in batch.health { p.health[id] = p.health[id].map { change.then($0) } ?? change }
            }
            throw error
        }
        if !batch.records.isEmpty { onCommit(batch.records) }
    }

    /// Seals a captured payload (the trace id is filled in when the trace row exists).
    private func seal(_ captured: CapturedPayload) throws -> Payload? {
        guard let box = payloadBox else { return nil }
        return Payload(
            traceId: 0, requestSealed: try box.seal(captured.request), responseSealed: try box.seal(captured.response),
            requestTruncated: captured.requestTruncated, responseTruncated: captured.responseTruncated,
            bytes: Int64(captured.request.count + captured.response.count), expiresAt: captured.expiresAt)
    }

    /// Writes a batch in the transaction `db` holds. `mayHaveLanded` says an earlier attempt at these records failed,
    /// perhaps after its commit: they are then inserted skipping request ids already written. Otherwise PostgreSQL
    /// takes them by `COPY` with trace ids drawn beforehand (a request id written twice fails the batch, whose retry
    /// then skips it).
    static func write(_ records: [RequestRecord], _ payloads: [Payload?], _ health: some Sequence<ChannelHealthChange>,
                      autoDisableAfter: Int, mayHaveLanded: Bool, in db: any StoreConnection) throws {
        let (spend, written) = try db.engine == .postgresql && !mayHaveLanded
            ? copy(records, payloads, in: db)
            : insertSkippingWritten(records, payloads, in: db)
        // The dashboards' rollups count exactly the traces written now.
        try StatRollups.add(written.map { records[$0].trace }, in: db)
        // One statement per 500 keys, not one per key: on PostgreSQL each statement is a round trip, and a batch of
        // a hundred keys' spend one by one took 50 ms (`bench records`).
        let spent = spend.filter { $0.value != 0 }.sorted { $0.key < $1.key }
        for start in stride(from: 0, to: spent.count, by: 500) {
            let chunk = spent[start..<min(spent.count, start + 500)]
            try db.execute(sql: """
                UPDATE api_keys SET used = used + d.column2 FROM (VALUES \(sqlPlaceholders(rows: chunk.count, columns: 2))) AS d
                WHERE api_keys.id = d.column1
                """, arguments: SQLArguments(values: chunk.flatMap { [SQLValue.integer($0.key), .integer($0.value)] }))
        }
        // Other gateways read capped keys' spend when a change is announced (PostgreSQL; SQLite's gateways look every
        // 300 ms): announced at commit, so no gateway spends a key's quota on its own count for long.
        if db.engine == .postgresql && !spent.isEmpty {
            try db.execute(sql: "SELECT pg_notify(?, ?)", arguments: [AppDatabase.stateChannel, AppDatabase.spendAnnouncement])
        }
        try writeHealth(Array(health), autoDisableAfter: autoDisableAfter, in: db)
    }

    static let traceColumns = ["request_id", "user_id", "key_id", "channel_id", "model", "endpoint", "stream", "status", "attempts",
                               "latency_ms", "ttft_ms", "prompt_tokens", "completion_tokens", "cost", "error", "has_payload",
                               "created_at", "expires_at"]
    static let usageColumns = ["request_id", "user_id", "key_id", "channel_id", "model", "prompt_tokens", "completion_tokens", "cost",
                               "created_at"]
    static let payloadColumns = ["trace_id", "request_sealed", "response_sealed", "request_truncated", "response_truncated", "bytes",
                                 "expires_at"]

    static func traceRow(_ t: Trace, hasPayload: Bool) -> [SQLValue] {
        let row: SQLArguments = [t.requestId.storable, t.userId, t.keyId, t.channelId, t.model?.storable, t.endpoint.storable, t.stream,
                                 t.status, t.attempts, t.latencyMs, t.ttftMs, t.promptTokens, t.completionTokens, t.cost,
                                 t.error?.storable, hasPayload, t.createdAt, t.expiresAt]
        return row.values
    }

    static func usageRow(_ u: UsageLog) -> [SQLValue] {
        let row: SQLArguments = [u.requestId.storable, u.userId, u.keyId, u.channelId, u.model.storable, u.promptTokens,
                                 u.completionTokens, u.cost, u.createdAt]
        return row.values
    }

    static func payloadRow(_ p: Payload, traceId: Int64) -> [SQLValue] {
        let row: SQLArguments = [traceId, p.requestSealed, p.responseSealed, p.requestTruncated, p.responseTruncated, p.bytes,
                                 p.expiresAt]
        return row.values
    }

    /// PostgreSQL's fast path: trace ids drawn in one statement, then one `COPY` per table. Returns each key's spend and
    /// the records written (all of them).
    private static func copy(_ records: [RequestRecord], _ payloads: [Payload?],
                             in db: any StoreConnection) throws -> (spend: [Int64: Int64], written: [Int]) {
        let ids = try Int64.fetchAll(db, sql: "SELECT nextval(pg_get_serial_sequence('traces', 'id')) FROM generate_series(1, ?)",
                                     arguments: [records.count])
        guard ids.count == records.count else { throw StoreError.database("drew \(ids.count) trace ids for \(records.count) traces") }
        try db.append(into: "traces", columns: ["id"] + traceColumns, rows: records.indices.map { index in
            [.integer(ids[index])] + traceRow(records[index].trace, hasPayload: payloads[index] != nil)
        })
        try db.append(into: "payloads", columns: payloadColumns, rows: records.indices.compactMap { index in
            payloads[index].map { payloadRow($0, traceId: ids[index]) }
        })
        let usage = records.compactMap(\.usage)
        try db.append(into: "usage_logs", columns: usageColumns, rows: usage.map(usageRow))
        return (usage.reduce(into: [:]) { spend, u in spend[u.keyId, default: 0] += u.cost }, Array(records.indices))
    }

    /// Multi-row inserts that skip request ids already written (a flush retried after a commit that was cut off): only
    /// the traces inserted now get their usage log and payload. Returns each key's spend from those, and which
    /// records they are.
    private static func insertSkippingWritten(_ records: [RequestRecord], _ payloads: [Payload?],
                                              in db: any StoreConnection) throws -> (spend: [Int64: Int64], written: [Int]) {
        var spend: [Int64: Int64] = [:], written: [Int] = []
        for start in stride(from: 0, to: records.count, by: rowsPerStatement) {
            let chunk = start..<min(start + rowsPerStatement, records.count)
            let traceRows = db.engine.rows(chunk.map { traceRow(records[$0].trace, hasPayload: payloads[$0] != nil) },
                                           types: ["text", "int8", "int8", "int8", "text", "text", "int8", "int8", "int8",
                                                   "int8", "int8", "int8", "int8", "int8", "text", "int8", "int8", "int8"])
            var inserted: [String: Int64] = [:]
            for row in try SQLRow.fetchAll(db, sql: """
                INSERT INTO traces (\(traceColumns.joined(separator: ", "))) \(traceRows.sql)
                ON CONFLICT (request_id) DO NOTHING RETURNING id, request_id
                """, arguments: traceRows.arguments) {
                inserted[try row["request_id"]] = try row["id"]
            }
            var usage: [[SQLValue]] = [], sealed: [[SQLValue]] = []
            for index in chunk {
                guard let traceId = inserted[records[index].trace.requestId] else { continue }
                written.append(index)
                if let p = payloads[index] { sealed.append(payloadRow(p, traceId: traceId)) }
                if let u = records[index].usage {
                    usage.append(usageRow(u))
                    spend[u.keyId, default: 0] += u.cost
                }
            }
            try db.insertRows(into: "payloads", columns: payloadColumns, rows: sealed)
            if !usage.isEmpty {
                let usageRows = db.engine.rows(usage, types: ["text", "int8", "int8", "int8", "text", "int8", "int8", "int8", "int8"])
                try db.execute(sql: "INSERT INTO usage_logs (\(usageColumns.joined(separator: ", "))) \(usageRows.sql)",
                               arguments: usageRows.arguments)
            }
        }
        return (spend, written)
    }

    /// Successes only: one statement resets every count that is not zero. A change with failures adds them (after a
    /// reset when the batch also saw a success) and auto-disables an enabled channel whose count reaches
    /// `autoDisableAfter`, or that this process disabled itself. An operator's decision is never overwritten.
    static func writeHealth(_ health: [ChannelHealthChange], autoDisableAfter: Int, in db: any StoreConnection) throws {
        let resets = health.filter { $0.reset && $0.failures == 0 && !$0.autoDisable }.map(\.channelId)
        if !resets.isEmpty {
            try db.execute(sql: "UPDATE channels SET failure_streak = 0 WHERE failure_streak > 0 AND id IN (\(db.engine.idsFromJSON))",
                           arguments: [String(decoding: try JSONEncoder().encode(resets), as: UTF8.self)])
        }
        let now = SystemWallClock().nowMillis()
        // ?1 this process disabled it, ?2 the count starts again, ?3 failures to add, ?4 the threshold, ?5 the last reason.
        let streak = "(CASE WHEN ?2 = 1 THEN 0 ELSE failure_streak END + ?3)"
        let disable = "(status = 'enabled' AND (?1 = 1 OR \(streak) >= ?4))"
        for change in health where change.failures > 0 || change.autoDisable {
            try db.execute(sql: """
                UPDATE channels SET
                    status_reason = CASE WHEN \(disable)
                        THEN CAST(\(streak) AS TEXT) || ' consecutive failures, last: ' || ?5 ELSE status_reason END,
                    updated_at = CASE WHEN \(disable) THEN ?6 ELSE updated_at END,
                    status = CASE WHEN \(disable) THEN 'auto_disabled' ELSE status END,
                    failure_streak = \(streak)
                WHERE id = ?7
                """, arguments: [change.autoDisable, change.reset, change.failures, autoDisableAfter, change.reason ?? "unknown", now,
                                 change.channelId])
        }
    }

    /// Rows per multi-row `INSERT`: 18 columns × 500 stays far below either engine's limit on bound parameters.
    static let rowsPerStatement = 500
}

extension String {
    /// This text with each NUL character replaced by U+FFFD: PostgreSQL's text cannot hold NUL, and a client's model
    /// name or an upstream's error text with one in it must not stop the whole batch it arrives in (both engines
    /// store the same text).
    var storable: String { contains("\u{0}") ? replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : self }
}
