import Foundation
import Scheduler

/// The steps of the import jobs, each one background transaction: an item's state, its trail, its channel, its
/// events and the next job commit together (a crash leaves all of a step or none of it).
extension ImportRepository {
    /// Chat statuses of a confirmation: through the gateway, and direct (nil keeps the one the probe recorded).
    public struct ChatStatuses: Sendable {
        public var upstream: Int?
        public var direct: Int?
        public init(upstream: Int?, direct: Int?) {
            self.upstream = upstream
            self.direct = direct
        }
    }

    /// Takes one of the run's probe slots for an item (slots expire after `slotTTL`, so a crashed worker frees its own).
    public func beginProbe(runId: String, index: Int, slotTTL: Duration) async throws -> ImportProgress.Begin {
        let now = clock.nowMillis()
        return try await db.backgroundWrite { db in
            try ImportProgress.begin(db, runId: runId, index: index, now: now, slotTTL: slotTTL.milliseconds)
        }
    }

    /// The run and item a confirmation works on, while the item is still `confirming` and the run open.
    public func confirming(runId: String, index: Int) async throws -> (item: ImportItem, run: ImportRun)? {
        try await db.backgroundRead { db in
            guard let run = try ImportRun.fetchOne(db, key: runId), !run.state.isFinal,
                  let item = try ImportItem.fetchOne(db, key: ["run_id": runId, "idx": index]),
                  item.state == .confirming else { return nil }
            return (item, run)
        }
    }

    /// A failed step that will be tried again: its trail, an `item.retrying` event, and for a probe its slot given
    /// back (the retry takes one again); a confirmation records its chat statuses.
    public func retrying(runId: String, index: Int, trail: [TrailEntry], classification: String, phase: String,
                         statuses: ChatStatuses? = nil) async throws {
        try await db.backgroundWrite { [clock] db in
            let now = clock.nowMillis()
            try Self.record(db, runId, index, trail, statuses, now: now)
            if phase == "probe" { try ImportProgress.release(db, runId: runId, index: index, now: now) }
            try ImportEvent.append(db, runId: runId, item: index, type: "item.retrying",
                                   data: ["classification": .string(classification), "phase": .string(phase)], at: now)
        }
    }

    /// The item failed for good (see `ImportProgress.fail`); the run's finalize is enqueued when it was the last.
    public func fail(runId: String, index: Int, trail: [TrailEntry], classification: String, detail: String?, phase: String,
                     statuses: ChatStatuses? = nil) async throws {
        try await db.backgroundWrite { [clock, queue] db in
            let now = clock.nowMillis()
            try Self.record(db, runId, index, trail, statuses, now: now)
            try ImportProgress.fail(db, queue: queue, runId: runId, index: index, classification: classification, detail: detail,
                                    phase: phase, now: now)
        }
    }

    /// A probed item's channel by the reuse policy and its `import.confirm` (see `ImportProgress.provision`).
    public func provision(runId: String, index: Int, trail: [TrailEntry], proposal: ChannelProposal,
                          probed: ImportProgress.Probed) async throws -> ImportItem.Outcome? {
        try await db.backgroundWrite { [clock, queue] db in
            let now = clock.nowMillis()
            try Self.record(db, runId, index, trail, nil, now: now)
            return try ImportProgress.provision(db, queue: queue, runId: runId, index: index, proposal: proposal, probed: probed, now: now)
        }
    }

    /// Access confirmed through the gateway: the item succeeds and its channel is enabled.
    public func confirmed(runId: String, index: Int, trail: [TrailEntry], statuses: ChatStatuses) async throws {
        try await db.backgroundWrite { [clock, queue] db in
            let now = clock.nowMillis()
            try Self.record(db, runId, index, trail, statuses, now: now)
            try ImportProgress.succeed(db, queue: queue, runId: runId, index: index, accessStatus: "confirmed", now: now)
        }
    }

    /// Records a finished run's state and artifact once (a re-run after a crash finds it recorded) with its
    /// `run.finished` event.
    public func finish(runId: String, state: ImportRun.State, artifactPath: String, finishedAt: Int64) async throws {
        try await db.backgroundWrite { [clock] db in
            guard var current = try ImportRun.fetchOne(db, key: runId), current.artifactPath == nil else { return }
            current.state = state
            current.finishedAt = finishedAt
            current.artifactPath = artifactPath
            try current.update(db)
            try ImportEvent.append(db, runId: runId, item: nil, type: "run.finished",
                                   data: ["state": .string(state.rawValue), "artifact": .string(artifactPath)], at: clock.nowMillis())
        }
    }

    /// Undoes (or, `dryRun`, previews) what a run changed; see `ImportRollback`.
    public func rollback(_ runId: String, dryRun: Bool) async throws -> [ImportRollback.Entry] {
        let now = clock.nowMillis()
        return try await db.write { db in try ImportRollback.run(db, runId: runId, dryRun: dryRun, now: now) }
    }

    /// What every step writes first: the calls it made (its trail) and, for a confirmation, its chat statuses.
    static func record(_ db: any StoreConnection, _ runId: String, _ index: Int, _ trail: [TrailEntry], _ statuses: ChatStatuses?,
                       now: Int64) throws {
        try ImportProgress.record(db, runId: runId, index: index, trail: trail, now: now)
        guard let statuses else { return }
        try db.execute(sql: """
            UPDATE import_items SET upstream_chat_status = ?, direct_chat_status = coalesce(?, direct_chat_status)
            WHERE run_id = ? AND idx = ?
            """, arguments: [statuses.upstream, statuses.direct, runId, index])
    }
}
