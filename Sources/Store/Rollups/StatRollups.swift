import Foundation

/// What the console's charts read: requests, errors, latency, time to first token, tokens and spend per minute and per
/// hour, by model and channel (`stat_rollups`), with latency and first-token histograms (`latency_rollups`) for
/// percentiles. The record writer adds each batch's traces in the same transaction that writes them, so a batch
/// written twice (a retried cut-off commit) is counted once, and a dashboard reads at most a few thousand rows
/// whatever the traces table holds.
public enum StatRollups {
    public enum Span: String, Sendable, CaseIterable {
        case minute = "m", hour = "h"

        public var millis: Int64 { self == .minute ? 60_000 : 3_600_000 }

        /// How long rows of this span are kept (`payloads.purge` deletes older ones).
        public var keptMillis: Int64 { self == .minute ? 2 * 86_400_000 : 400 * 86_400_000 }
    }

    /// Upper bounds (ms) of the histogram's buckets: about three per decade up to two minutes, then one for the rest.
    public static let bounds: [Int64] = [1, 2, 5, 10, 20, 50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 7500, 10_000,
                                         15_000, 20_000, 30_000, 60_000, 120_000, Int64.max]

    /// The bound of the bucket holding `millis`.
    static func bound(of millis: Int64) -> Int64 {
        bounds.first { millis <= $0 } ?? Int64.max
    }

    /// Whether a trace counts as an error on the dashboards: any answer of 400 or more (a refusal or a failure).
    static func isError(_ trace: Trace) -> Bool { trace.status >= 400 }

    private struct Key: Hashable, Comparable {
        let span: Span, start: Int64, model: String, channel: Int64
        static func < (a: Key, b: Key) -> Bool {
            (a.span.rawValue, a.start, a.model, a.channel) < (b.span.rawValue, b.start, b.model, b.channel)
        }
    }

    private struct Sums {
        var requests: Int64 = 0, errors: Int64 = 0, latency: Int64 = 0, ttft: Int64 = 0, ttftCount: Int64 = 0
        var prompt: Int64 = 0, completion: Int64 = 0, cost: Int64 = 0
    }

    private struct BucketKey: Hashable, Comparable {
        let key: Key, metric: String, bound: Int64
        static func < (a: BucketKey, b: BucketKey) -> Bool { (a.key, a.metric, a.bound) < (b.key, b.metric, b.bound) }
    }

    /// Adds `traces` to every span's rows: one upsert statement per table and 500 rows, rows in key order (so two
    /// writers lock shared rows in the same order).
    static func add(_ traces: [Trace], in db: any StoreConnection) throws {
        guard !traces.isEmpty else { return }
        var sums: [Key: Sums] = [:]
        var buckets: [BucketKey: Int64] = [:]
        for trace in traces {
            for span in Span.allCases {
                let key = Key(span: span, start: trace.createdAt - trace.createdAt % span.millis, model: trace.model?.storable ?? "",
                              channel: trace.channelId ?? 0)
                var s = sums[key, default: Sums()]
                s.requests += 1
                s.errors += isError(trace) ? 1 : 0
                s.latency += trace.latencyMs
                if let ttft = trace.ttftMs {
                    s.ttft += ttft
                    s.ttftCount += 1
                    buckets[BucketKey(key: key, metric: "ttft", bound: bound(of: ttft)), default: 0] += 1
                }
                s.prompt += trace.promptTokens
                s.completion += trace.completionTokens
                s.cost += trace.cost
                sums[key] = s
                buckets[BucketKey(key: key, metric: "latency", bound: bound(of: trace.latencyMs)), default: 0] += 1
            }
        }
        let statRows = sums.sorted { $0.key < $1.key }.map { key, s -> [SQLValue] in
            let row: SQLArguments = [key.span.rawValue, key.start, key.model, key.channel, s.requests, s.errors, s.latency, s.ttft,
                                     s.ttftCount, s.prompt, s.completion, s.cost]
            return row.values
        }
        let added = ["requests", "errors", "latency_ms_sum", "ttft_ms_sum", "ttft_count", "prompt_tokens", "completion_tokens", "cost"]
        try upsert(into: "stat_rollups", keys: ["span", "start", "model", "channel_id"], added: added, rows: statRows, in: db)
        let bucketRows = buckets.sorted { $0.key < $1.key }.map { b, count -> [SQLValue] in
            let row: SQLArguments = [b.key.span.rawValue, b.key.start, b.key.model, b.key.channel, b.metric, b.bound, count]
            return row.values
        }
        try upsert(into: "latency_rollups", keys: ["span", "start", "model", "channel_id", "metric", "le_ms"], added: ["count"],
                   rows: bucketRows, in: db)
    }

    /// `INSERT … ON CONFLICT (keys) DO UPDATE SET column = column + excluded.column` for each added column.
    private static func upsert(into table: String, keys: [String], added: [String], rows: [[SQLValue]], in db: any StoreConnection) throws {
        let sets = added.map { "\($0) = \(table).\($0) + excluded.\($0)" }.joined(separator: ", ")
        try db.insertRows(into: table, columns: keys + added, rows: rows,
                          suffix: " ON CONFLICT (\(keys.joined(separator: ", "))) DO UPDATE SET \(sets)")
    }

    /// Deletes rows older than each span keeps; returns how many.
    static func prune(now: Int64, in db: any StoreConnection) throws -> Int64 {
        var removed: Int64 = 0
        for span in Span.allCases {
            for table in ["stat_rollups", "latency_rollups"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE span = ? AND start < ?", arguments: [span.rawValue, now - span.keptMillis])
                removed += Int64(db.changesCount)
            }
        }
        return removed
    }
}
