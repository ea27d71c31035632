import Foundation

/// Undoes exactly what a run recorded, newest change first: channels it created are removed, patched, replaced
/// and reactivated ones get their recorded previous state back. A channel changed by someone else since the
/// run (its digest differs from the one the run left) is not touched and is reported as a conflict.
public enum ImportRollback {
    public struct Entry: Codable, Sendable, Equatable {
        public var changeId: Int64
        public var itemIndex: Int
        public var channelId: Int64
        public var action: String
        /// `rolled_back`, `would_roll_back` (dry run), `conflict`, `gone` (already deleted) or `already_rolled_back`.
        public var result: String
        public var detail: String?

        enum CodingKeys: String, CodingKey {
            case action, result, detail
            case changeId = "change_id"
            case itemIndex = "item_index"
            case channelId = "channel_id"
        }

        /// Every key, `detail` null when there is nothing to add.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(changeId, forKey: .changeId)
            try container.encode(itemIndex, forKey: .itemIndex)
            try container.encode(channelId, forKey: .channelId)
            try container.encode(action, forKey: .action)
            try container.encode(result, forKey: .result)
            try container.encode(detail, forKey: .detail)
        }
    }

    static func run(_ db: any StoreConnection, runId: String, dryRun: Bool, now: Int64) throws -> [Entry] {
        guard let run = try ImportRun.fetchOne(db, key: runId) else { throw StoreError.notFound("run \(runId) not found") }
        guard run.state.isFinal else { throw StoreError.conflict("run \(runId) is still \(run.state.rawValue); cancel it first") }
        let changes = try ImportChange.fetchAll(db, sql: "SELECT * FROM import_changes WHERE run_id = ? ORDER BY id DESC", arguments: [runId])
        var entries: [Entry] = []
        for var change in changes {
            var entry = Entry(changeId: change.id!, itemIndex: change.itemIndex, channelId: change.channelId,
                              action: change.action.rawValue, result: "", detail: nil)
            defer { entries.append(entry) }
            if change.rolledBackAt != nil {
                entry.result = "already_rolled_back"
                continue
            }
            guard let current = try RelayChannel.fetchOne(db, key: change.channelId) else {
                entry.result = "gone"
                entry.detail = "the channel no longer exists"
                continue
            }
            guard current.digest == change.afterDigest else {
                entry.result = "conflict"
                entry.detail = "the channel was changed after the run (status \(current.status.rawValue)); left as it is"
                continue
            }
            if dryRun {
                entry.result = "would_roll_back"
                continue
            }
            switch change.action {
            case .created:
                try RelayChannel.deleteOne(db, key: change.channelId)
            case .patched, .replaced, .reactivated:
                guard var before = change.before else { throw StoreError.database("change \(change.id!) has no recorded state") }
                before.id = change.channelId
                before.failureStreak = 0
                before.updatedAt = now
                try before.update(db)
            }
            change.rolledBackAt = now
            try change.update(db)
            entry.result = "rolled_back"
        }
        if !dryRun {
            try ImportEvent.append(db, runId: runId, item: nil, type: "run.rolled_back",
                                   data: ["rolled_back": .int(Int64(entries.filter { $0.result == "rolled_back" }.count)),
                                          "conflicts": .int(Int64(entries.filter { $0.result == "conflict" }.count))], at: now)
        }
        return entries
    }
}
