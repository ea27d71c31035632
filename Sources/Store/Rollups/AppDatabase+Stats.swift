import Foundation

/// The dashboards' figures over a window, from the rollups alone.
public struct StatsReport: Sendable, Codable, Equatable {
    /// One point of the window's series, or one model's or channel's total over the window.
    public struct Figures: Sendable, Codable, Equatable {
        public var requests: Int64 = 0
        public var errors: Int64 = 0
        public var latencyP50Ms: Double?
        public var latencyP99Ms: Double?
        public var ttftP50Ms: Double?
        public var ttftP99Ms: Double?
        public var promptTokens: Int64 = 0
        public var completionTokens: Int64 = 0
        public var cost: Int64 = 0

        enum CodingKeys: String, CodingKey {
            case requests, errors, cost
            case latencyP50Ms = "latency_p50_ms"
            case latencyP99Ms = "latency_p99_ms"
            case ttftP50Ms = "ttft_p50_ms"
            case ttftP99Ms = "ttft_p99_ms"
            case promptTokens = "prompt_tokens"
            case completionTokens = "completion_tokens"
        }
    }

    public struct Point: Sendable, Codable, Equatable {
        public var start: Int64
        public var figures: Figures
    }

    public struct Group: Sendable, Codable, Equatable {
        /// The model's name, or the channel's id as text ("0": requests no channel served).
        public var name: String
        public var figures: Figures
    }

    public var window: String
    /// Each point's length in milliseconds.
    public var step: Int64
    public var since: Int64
    public var series: [Point]
    public var total: Figures
    public var byModel: [Group]
    public var byChannel: [Group]

    enum CodingKeys: String, CodingKey {
        case window, step, since, series, total
        case byModel = "by_model"
        case byChannel = "by_channel"
    }
}

extension AppDatabase {
    /// The windows the dashboards show, with the span read and the number of points.
    public enum StatsWindow: String, Sendable, CaseIterable {
        case hour, day, week

        var span: StatRollups.Span { self == .hour ? .minute : .hour }
        var points: Int64 { switch self { case .hour: 60; case .day: 24; case .week: 168 } }
    }

    /// Requests, errors, latency and first-token percentiles, tokens and spend over the last `window` before `now`:
    /// a series of points (every step present, zero when idle), the window's total, and the total by model and by
    /// channel, busiest first.
    public func stats(_ window: StatsWindow, now: Int64) async throws -> StatsReport {
        let span = window.span
        let last = now - now % span.millis
        let since = last - (window.points - 1) * span.millis
        return try await read { db in
            let sums = """
                sum(requests) AS requests, sum(errors) AS errors, sum(prompt_tokens) AS prompt_tokens,
                sum(completion_tokens) AS completion_tokens, sum(cost) AS cost
                """
            func figures(_ row: SQLRow) throws -> StatsReport.Figures {
                var f = StatsReport.Figures()
                f.requests = try row["requests"]
                f.errors = try row["errors"]
                f.promptTokens = try row["prompt_tokens"]
                f.completionTokens = try row["completion_tokens"]
                f.cost = try row["cost"]
                return f
            }
            /// Each group's histogram per metric, merged over the window.
            func histograms(by column: String) throws -> [String: [String: [Int64: Int64]]] {
                var merged: [String: [String: [Int64: Int64]]] = [:]
                for row in try SQLRow.fetchAll(db, sql: """
                    SELECT \(column) AS name, metric, le_ms, sum(count) AS n FROM latency_rollups WHERE span = ? AND start >= ?
                    GROUP BY \(column), metric, le_ms
                    """, arguments: [span.rawValue, since]) {
                    let name: String = try row.get(0, as: String.self)
                    merged[name, default: [:]][try row["metric"], default: [:]][try row["le_ms"], default: 0] += try row["n"]
                }
                return merged
            }
            func withPercentiles(_ f: inout StatsReport.Figures, _ h: [String: [Int64: Int64]]?) {
                f.latencyP50Ms = Self.percentile(50, h?["latency"])
                f.latencyP99Ms = Self.percentile(99, h?["latency"])
                f.ttftP50Ms = Self.percentile(50, h?["ttft"])
                f.ttftP99Ms = Self.percentile(99, h?["ttft"])
            }
            let startText = "CAST(start AS TEXT)", channelText = "CAST(channel_id AS TEXT)"
            let args: SQLArguments = [span.rawValue, since]
            var points: [Int64: StatsReport.Figures] = [:]
            for row in try SQLRow.fetchAll(db, sql: "SELECT start, \(sums) FROM stat_rollups WHERE span = ? AND start >= ? GROUP BY start",
                                           arguments: args) {
                points[try row["start"]] = try figures(row)
            }
            let pointHistograms = try histograms(by: startText)
            let series = (0..<window.points).map { index -> StatsReport.Point in
                let start = since + index * span.millis
                var f = points[start] ?? StatsReport.Figures()
                withPercentiles(&f, pointHistograms[String(start)])
                return StatsReport.Point(start: start, figures: f)
            }
            func groups(_ column: String) throws -> [StatsReport.Group] {
                let h = try histograms(by: column)
                return try SQLRow.fetchAll(db, sql: """
                    SELECT \(column) AS name, \(sums) FROM stat_rollups WHERE span = ? AND start >= ? GROUP BY \(column)
                    ORDER BY requests DESC, name
                    """, arguments: args).map { row in
                    let name: String = try row.get(0, as: String.self)
                    var f = try figures(row)
                    withPercentiles(&f, h[name])
                    return StatsReport.Group(name: name, figures: f)
                }
            }
            // The window's total is its points' sums, and its histograms their histograms merged.
            var total = StatsReport.Figures()
            for f in points.values {
                total.requests += f.requests
                total.errors += f.errors
                total.promptTokens += f.promptTokens
                total.completionTokens += f.completionTokens
                total.cost += f.cost
            }
            var merged: [String: [Int64: Int64]] = [:]
            for (_, metrics) in pointHistograms {
                for (metric, buckets) in metrics { merged[metric, default: [:]].merge(buckets, uniquingKeysWith: +) }
            }
            withPercentiles(&total, merged)
            return StatsReport(window: window.rawValue, step: span.millis, since: since, series: series, total: total,
                               byModel: try groups("model"), byChannel: try groups(channelText))
        }
    }

    /// The p-th percentile of a histogram (bucket upper bound → count), interpolated linearly inside its bucket; nil
    /// when empty. The last bucket (over two minutes) answers its lower bound.
    static func percentile(_ p: Double, _ histogram: [Int64: Int64]?) -> Double? {
        guard let histogram, case let total = histogram.values.reduce(0, +), total > 0 else { return nil }
        let rank = p / 100 * Double(total)
        var seen: Int64 = 0
        var lower: Int64 = 0
        for bound in StatRollups.bounds {
            let count = histogram[bound] ?? 0
            if count > 0 && Double(seen + count) >= rank {
                guard bound != Int64.max else { return Double(lower) }
                let within = (rank - Double(seen)) / Double(count)
                return Double(lower) + within * Double(bound - lower)
            }
            seen += count
            lower = bound
        }
        return Double(lower)
    }
}
