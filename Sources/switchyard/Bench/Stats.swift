import Foundation

/// Percentiles and rates for benchmark output.
struct Samples: Sendable {
    private(set) var values: [Double] = []

    mutating func add(_ value: Double) { values.append(value) }
    mutating func add(_ duration: Duration) { values.append(duration.seconds * 1000) }

    /// The p-th percentile (0...100) by nearest rank; 0 when empty.
    func percentile(_ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
        return sorted[Swift.min(Swift.max(rank, 0), sorted.count - 1)]
    }

    var max: Double { values.max() ?? 0 }
    var count: Int { values.count }

    /// `p50 …, p99 …, p99.9 …, max … ms (N requests)`: the latency summary the benches print, tail included, so a
    /// single multi-millisecond stall (this VM's kernel has some) shows as such beside the p99 it may move.
    var latencySummary: String {
        "p50 \(format(percentile(50), 2)) ms, p99 \(format(percentile(99), 2)) ms, p99.9 \(format(percentile(99.9), 2)) ms, "
            + "max \(format(max, 2)) ms (\(count) requests)"
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// Peak resident memory of this process, in MiB.
func peakRSSMiB() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

/// Median and p99 of `count` 4 KiB write+fsync pairs in `dir`: what one durable commit costs on this disk now.
func fsyncProbe(dir: String, count: Int = 100) -> (p50: Double, p99: Double) {
    let path = dir + "/fsync-probe"
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    defer { close(fd); unlink(path) }
    var samples = Samples()
    let block = [UInt8](repeating: 7, count: 4096)
    for _ in 0..<count {
        let start = ContinuousClock.now
        _ = block.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count) }
        fsync(fd)
        samples.add(.now - start)
    }
    return (samples.percentile(50), samples.percentile(99))
}

func format(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }
