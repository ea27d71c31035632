import Foundation
@_spi(Engine) @testable import Store
import Testing
import TestSupport

/// The dashboards' figures come from the rollups the record writer keeps: counted once per trace written, by
/// minute and hour, model and channel, with percentiles from the histograms.
@Suite struct StatsTests {
    static func trace(_ id: String, at: Int64, model: String, channel: Int64?, status: Int = 200, latency: Int64, ttft: Int64? = nil,
                      tokens: Int64 = 0, cost: Int64 = 0) -> RequestRecord {
        var trace = Trace(requestId: id, endpoint: "/v1/chat/completions", createdAt: at, expiresAt: at + 86_400_000)
        trace.model = model
        trace.channelId = channel
        trace.status = status
        trace.latencyMs = latency
        trace.ttftMs = ttft
        trace.promptTokens = tokens
        trace.completionTokens = tokens * 2
        trace.cost = cost
        return RequestRecord(trace: trace, usage: nil)
    }

    @Test func percentilesInterpolateInsideTheirBucket() {
        #expect(AppDatabase.percentile(50, nil) == nil && AppDatabase.percentile(50, [:]) == nil)
        // 100 requests between 100 and 200 ms: the median half-way through the bucket.
        #expect(AppDatabase.percentile(50, [200: 100]) == 150)
        #expect(AppDatabase.percentile(99, [100: 98, 2000: 2]) == 1500 + 0.5 * 500)
        #expect(AppDatabase.percentile(99, [Int64.max: 5]) == 120_000, "over two minutes answers the last bound")
        #expect(StatRollups.bound(of: 0) == 1 && StatRollups.bound(of: 101) == 200 && StatRollups.bound(of: 999_999) == Int64.max)
    }

    @Test(arguments: Engine.allCases) func anHoursFiguresComeFromTheRollups(_ engine: Engine) async throws {
        let store = try await TestStore(engine)
        let hour: Int64 = 1_800_000_000_000 - 1_800_000_000_000 % 3_600_000
        let now = hour + 59 * 60_000 + 30_000
        var records: [RequestRecord] = []
        // Minute 10: 90 fast gpt-4o-mini requests on channel 1; minute 20: 10 slow gpt-4o streams on channel 2, 4 failed;
        // two hours before: 50 requests outside the window.
        for n in 0..<90 {
            records.append(Self.trace("a\(n)", at: hour + 10 * 60_000 + Int64(n), model: "gpt-4o-mini", channel: 1, latency: 100 + Int64(n % 10),
                                      tokens: 10, cost: 3))
        }
        for n in 0..<10 {
            records.append(Self.trace("b\(n)", at: hour + 20 * 60_000, model: "gpt-4o", channel: 2, status: n < 4 ? 502 : 200,
                                      latency: 2500, ttft: 400, tokens: 100, cost: 50))
        }
        for n in 0..<50 {
            records.append(Self.trace("c\(n)", at: hour - 2 * 3_600_000, model: "gpt-4o-mini", channel: 1, latency: 5))
        }
        let batch = records
        try await store.db.write { db in
            try RecordWriter.write(batch, Array(repeating: nil, count: batch.count), [], autoDisableAfter: 5, mayHaveLanded: false, in: db)
        }
        let report = try await store.db.stats(.hour, now: now)
        #expect(report.series.count == 60 && report.step == 60_000)
        #expect(report.series.first?.start == hour && report.series.last?.start == hour + 59 * 60_000, "every minute present")
        #expect(report.total.requests == 100 && report.total.errors == 4, "the older requests are outside the window")
        #expect(report.total.promptTokens == 900 + 1000 && report.total.completionTokens == 2 * 1900 && report.total.cost == 270 + 500)
        #expect(report.series[10].figures.requests == 90 && report.series[20].figures.requests == 10 && report.series[11].figures.requests == 0)
        let p50 = try #require(report.series[10].figures.latencyP50Ms)
        #expect(p50 > 100 && p50 <= 200, "\(p50)")
        #expect(report.series[10].figures.ttftP50Ms == nil && report.series[20].figures.ttftP50Ms.map { $0 > 300 && $0 <= 500 } == true)
        #expect(report.byModel.map(\.name) == ["gpt-4o-mini", "gpt-4o"], "busiest first")
        #expect(report.byModel[1].figures.errors == 4 && report.byChannel.map(\.name) == ["1", "2"])
        let p99 = try #require(report.total.latencyP99Ms)
        #expect(p99 > 2000 && p99 <= 3000, "the slow tenth sets the p99: \(p99)")

        let day = try await store.db.stats(.day, now: now)
        #expect(day.series.count == 24 && day.step == 3_600_000 && day.total.requests == 150)

        // Pruning keeps each span's window: minutes two days, hours 400 days.
        let removed = try await store.db.write { db in try StatRollups.prune(now: now + 3 * 86_400_000, in: db) }
        #expect(removed > 0)
        #expect(try await store.db.stats(.hour, now: now).total.requests == 0)
        #expect(try await store.db.stats(.day, now: now).total.requests == 150)
    }
}
