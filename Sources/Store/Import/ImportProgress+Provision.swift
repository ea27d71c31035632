import Foundation
import Scheduler

extension ImportProgress {
    /// What a successful probe learned, beyond the channel proposal.
    public struct Probed: Sendable {
        public var smokeModel: String
        public var directChatStatus: Int
        public init(smokeModel: String, directChatStatus: Int) {
            self.smokeModel = smokeModel
            self.directChatStatus = directChatStatus
        }
    }

    /// Applies the reuse policy for a probed item: creates or changes its channel (recording the state before),
    /// moves the item to `confirming` and schedules its `import.confirm`; a dry run decides and changes nothing.
    /// Returns the decision's outcome, or nil when the item had already moved on.
    @discardableResult
    static func provision(_ db: any StoreConnection, queue: StoreQueue, runId: String, index: Int, proposal: ChannelProposal,
                                 probed: Probed, now: Int64) throws -> ImportItem.Outcome? {
        guard let run = try ImportRun.fetchOne(db, key: runId),
              var item = try ImportItem.fetchOne(db, key: ["run_id": runId, "idx": index]), item.state == .probing else { return nil }
        let existing = try reuseCandidates(db, proposal, runId: runId)
        let decision = ReusePolicy.decide(proposal, existing: existing)
        item.plannedOutcome = decision.outcome
        item.models = proposal.models
        item.capabilities = proposal.capabilities
        item.smokeModel = probed.smokeModel
        item.providerStatus = "ok"
        item.directChatStatus = probed.directChatStatus
        item.probeUntil = nil
        item.updatedAt = now
        if run.options.dryRun {
            // Nothing is linked or changed: the item only reports what would happen.
            item.channelId = nil
            item.detail = decisionChannel(decision).map { "would use channel \($0.id!)" }
            item.state = .confirming
            try item.update(db)
            try succeed(db, queue: queue, runId: runId, index: index, accessStatus: "skipped", now: now)
            return decision.outcome
        }
        let channel = try apply(decision, proposal, db: db, runId: runId, index: index, now: now)
        item.channelId = channel.id
        item.state = .confirming
        try item.update(db)
        try ImportEvent.append(db, runId: runId, item: index, type: "item.provisioned",
                               data: ["outcome": .string(decision.outcome.rawValue), "channel_id": .int(channel.id!)], at: now)
        let options = run.options
        let confirmAt = now + Int64(options.confirmDelayS) * 1000
        _ = try queue.enqueue([try ImportJobs.confirm.job(
            ImportJobs.ItemArgs(runId: runId, index: index), maxAttempts: options.maxAttempts + 2, runAt: confirmAt,
            retryUntil: confirmAt + Int64(options.retryWindowS) * 1000, uniqueKey: ImportJobs.confirmKey(runId, index))], in: db)
        return decision.outcome
    }

    /// The few channels the reuse policy needs, without reading every channel of the provider and family (an
    /// import of a thousand keys of one provider would read them all a thousand times): those with the same key,
    /// and the oldest one at the same base URL that no item of this run already created, changed or reused.
    static func reuseCandidates(_ db: any StoreConnection, _ proposal: ChannelProposal, runId: String) throws -> [RelayChannel] {
        var found = try RelayChannel.fetchAll(db, sql: """
            SELECT * FROM channels WHERE provider = ? AND family = ? AND key_fingerprint = ?
            """, arguments: [proposal.provider, proposal.family, proposal.keyFingerprint])
        // Read in pages: the first channel at the same base usually comes early.
        var after: Int64 = 0
        while true {
            let page = try RelayChannel.fetchAll(db, sql: """
                SELECT * FROM channels WHERE provider = ? AND family = ? AND key_fingerprint != ? AND id > ?
                  AND id NOT IN (SELECT channel_id FROM import_items WHERE run_id = ? AND channel_id IS NOT NULL)
                  AND id NOT IN (SELECT channel_id FROM import_changes WHERE run_id = ?)
                ORDER BY id LIMIT 100
                """, arguments: [proposal.provider, proposal.family, proposal.keyFingerprint, after, runId, runId])
            if let channel = page.first(where: { ReusePolicy.sameBase($0.baseURL, proposal.baseURL) }) {
                found.append(channel)
                break
            }
            guard page.count == 100, let last = page.last?.id else { break }
            after = last
        }
        return found
    }

    private static func decisionChannel(_ decision: ReusePolicy.Decision) -> RelayChannel? {
        switch decision {
        case .create: nil
        case .reuse(let c), .patch(let c), .replace(let c), .reactivate(let c): c
        }
    }

    private static func apply(_ decision: ReusePolicy.Decision, _ proposal: ChannelProposal, db: any StoreConnection, runId: String,
                              index: Int, now: Int64) throws -> RelayChannel {
        let action: ImportChange.Action
        let before: RelayChannel?
        var channel: RelayChannel
        switch decision {
        case .reuse(let match):
            return match
        case .create:
            channel = RelayChannel(name: proposal.name, type: .openai, baseURL: proposal.baseURL, apiKeySealed: proposal.apiKeySealed,
                                   keyFingerprint: proposal.keyFingerprint, models: proposal.models, modelMapping: proposal.modelMapping,
                                   priority: 0, weight: 1, status: .confirming, now: now)
            channel.provider = proposal.provider
            channel.family = proposal.family
            channel.capabilities = proposal.capabilities
            try channel.insert(db)
            (action, before) = (.created, nil)
        case .patch(let match):
            channel = match
            channel.models = proposal.models
            channel.modelMapping = proposal.modelMapping
            channel.capabilities = proposal.capabilities
            (action, before) = (.patched, match)
        case .replace(let old):
            channel = old
            channel.apiKeySealed = proposal.apiKeySealed
            channel.keyFingerprint = proposal.keyFingerprint
            channel.models = proposal.models
            channel.modelMapping = proposal.modelMapping
            channel.capabilities = proposal.capabilities
            channel.status = .confirming
            channel.statusReason = nil
            (action, before) = (.replaced, old)
        case .reactivate(let old):
            channel = old
            channel.models = proposal.models
            channel.modelMapping = proposal.modelMapping
            channel.capabilities = proposal.capabilities
            channel.status = .confirming
            channel.statusReason = nil
            (action, before) = (.reactivated, old)
        }
        if action != .created {
            channel.failureStreak = 0
            channel.updatedAt = now
            try channel.update(db)
        }
        var change = ImportChange(runId: runId, itemIndex: index, channelId: channel.id!, action: action, before: before, after: channel)
        try change.insert(db)
        return channel
    }
}
