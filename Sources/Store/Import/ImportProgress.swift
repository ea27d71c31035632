import Foundation
import Scheduler

/// The state changes of an import item, each inside the caller's write transaction, so an item's state, its
/// channel, the recorded change, its events and the next job always commit together (a crash leaves either
/// all of a step or none of it).
public enum ImportProgress {
    /// What `begin` found.
    public enum Begin: Sendable {
        /// Probe now; the item holds one of the run's concurrency slots.
        case proceed(ImportItem, ImportRun)
        /// Every slot of the run is taken, or the item's turn in the run's pace has not come: try again then.
        case wait(Duration)
        /// The item or run already ended (a re-run after a crash, or a cancel): nothing to do.
        case skip
    }

    /// Takes a concurrency slot for a probe of `index` (slots expire, so a crashed worker frees its own).
    static func begin(_ db: any StoreConnection, runId: String, index: Int, now: Int64, slotTTL: Int64) throws -> Begin {
        guard var run = try ImportRun.fetchOne(db, key: runId),
              var item = try ImportItem.fetchOne(db, key: ["run_id": runId, "idx": index]),
              !run.state.isFinal, item.state == .queued || item.state == .probing else { return .skip }
        let busy = try Int.fetchOne(db, sql: """
            SELECT count(*) FROM import_items WHERE run_id = ? AND state = 'probing' AND probe_until > ? AND idx != ?
            """, arguments: [runId, now, index]) ?? 0
        guard busy < run.options.concurrency else { return .wait(.milliseconds(Int64.random(in: 100...400))) }
        // The pace: each item reserves the next start time once, then waits for it without taking another.
        if run.options.ratePerS > 0 {
            if item.startAt == nil {
                let start = max(now, run.nextStartAt)
                run.nextStartAt = start + max(1, 1000 / Int64(run.options.ratePerS))
                item.startAt = start
                try run.update(db)
                try item.update(db)
            }
            if let start = item.startAt, start > now { return .wait(.milliseconds(start - now)) }
        }
        if run.state == .queued {
            run.state = .running
            run.startedAt = now
            try run.update(db)
            try ImportEvent.append(db, runId: runId, item: nil, type: "run.started", at: now)
        }
        item.state = .probing
        item.probeUntil = now + slotTTL
        item.attempts += 1
        item.updatedAt = now
        try item.update(db)
        try ImportEvent.append(db, runId: runId, item: index, type: "item.probing", data: ["attempt": .int(Int64(item.attempts))], at: now)
        return .proceed(item, run)
    }

    /// Appends trail entries to an item (probe or confirmation calls), leaving its state alone.
    static func record(_ db: any StoreConnection, runId: String, index: Int, trail: [TrailEntry], now: Int64) throws {
        guard var item = try ImportItem.fetchOne(db, key: ["run_id": runId, "idx": index]) else { return }
        item.trail += trail
        item.updatedAt = now
        try item.update(db)
    }

    /// A probe that will be retried gives its concurrency slot back while it waits (the retry takes one again).
    static func release(_ db: any StoreConnection, runId: String, index: Int, now: Int64) throws {
        try db.execute(sql: """
            UPDATE import_items SET state = 'queued', probe_until = NULL, start_at = NULL, updated_at = ?
            WHERE run_id = ? AND idx = ? AND state = 'probing'
            """, arguments: [now, runId, index])
    }

    /// The item failed for good: outcome `failed` with its classification. A channel the run left in
    /// `confirming` is auto-disabled with the reason (recorded, so a rollback can undo it).
    static func fail(_ db: any StoreConnection, queue: StoreQueue, runId: String, index: Int, classification: String, detail: String?,
                            phase: String, now: Int64) throws {
        guard var item = try ImportItem.fetchOne(db, key: ["run_id": runId, "idx": index]), !item.state.isFinal else { return }
        if let channelId = item.channelId, item.state == .confirming {
            try settleChannel(db, runId: runId, item: index, channelId: channelId, to: .autoDisabled,
                              reason: "import \(runId) could not confirm access: \(classification)", now: now)
        }
        item.state = .failed
        item.outcome = .failed
        item.classification = classification
        item.detail = detail
        item.probeUntil = nil
        if phase == "probe" { item.providerStatus = classification } else { item.accessStatus = classification }
        item.updatedAt = now
        try item.update(db)
        try ImportEvent.append(db, runId: runId, item: index, type: "item.failed",
                               data: ["classification": .string(classification), "phase": .string(phase)], at: now)
        try enqueueFinalizeIfDone(db, runId: runId, queue: queue)
    }

    /// The item is done: its planned outcome becomes final; a channel still `confirming` is enabled.
    static func succeed(_ db: any StoreConnection, queue: StoreQueue, runId: String, index: Int, accessStatus: String, now: Int64) throws {
        guard var item = try ImportItem.fetchOne(db, key: ["run_id": runId, "idx": index]), !item.state.isFinal else { return }
        if let channelId = item.channelId, item.state == .confirming {
            try settleChannel(db, runId: runId, item: index, channelId: channelId, to: .enabled, reason: nil, now: now)
        }
        item.state = .succeeded
        item.outcome = item.plannedOutcome
        item.classification = "ok"
        item.accessStatus = accessStatus
        item.probeUntil = nil
        item.updatedAt = now
        try item.update(db)
        try ImportEvent.append(db, runId: runId, item: index, type: "item.succeeded",
                               data: ["outcome": JSONScalar(item.outcome?.rawValue)], at: now)
        try enqueueFinalizeIfDone(db, runId: runId, queue: queue)
    }

    /// Moves a channel this run left in `confirming` to its final status and re-records the run's change, so a
    /// later rollback sees the channel as the run left it. A channel changed by someone else is not touched.
    static func settleChannel(_ db: any StoreConnection, runId: String, item: Int, channelId: Int64, to status: RelayChannel.Status,
                              reason: String?, now: Int64) throws {
        guard var channel = try RelayChannel.fetchOne(db, key: channelId), channel.status == .confirming else { return }
        var change = try ImportChange.fetchOne(db, sql: """
            SELECT * FROM import_changes WHERE run_id = ? AND channel_id = ? ORDER BY id DESC LIMIT 1
            """, arguments: [runId, channelId])
        guard change == nil || change?.afterDigest == channel.digest else { return }
        channel.status = status
        channel.statusReason = reason
        channel.failureStreak = 0
        channel.updatedAt = now
        try channel.update(db)
        if change != nil {
            change!.afterDigest = channel.digest
            try change!.update(db)
        }
    }

    /// When every item of the run is final, enqueues its `import.finalize` (once: a unique key per run).
    static func enqueueFinalizeIfDone(_ db: any StoreConnection, runId: String, queue: StoreQueue) throws {
        let open = try Int.fetchOne(db, sql: """
            SELECT count(*) FROM import_items WHERE run_id = ? AND state NOT IN ('succeeded','failed','cancelled')
            """, arguments: [runId]) ?? 0
        guard open == 0 else { return }
        _ = try queue.enqueue([try ImportJobs.finalize.job(ImportJobs.RunArgs(runId: runId), maxAttempts: 50,
                                                           uniqueKey: ImportJobs.finalizeKey(runId))], in: db)
    }
}
