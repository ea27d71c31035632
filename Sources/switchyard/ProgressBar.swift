import Foundation

/// A one-line progress bar on stderr (redrawn in place on a terminal, a line every few seconds otherwise):
/// done / failed / remaining and the rate.
final class ProgressBar {
    let total: Int
    let started = ContinuousClock.now
    let isTerminal = isatty(STDERR_FILENO) == 1
    private var lastLine = ContinuousClock.now - .seconds(60)
    private var lastText = ""

    init(total: Int) { self.total = total }

    func show(done: Int, failed: Int, remaining: Int) {
        let elapsed = (ContinuousClock.now - started) / .seconds(1)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let width = 30
        let filled = total == 0 ? width : min(width, done * width / total)
        let text = "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] "
            + "\(done)/\(total) done, \(failed) failed, \(remaining) remaining, " + String(format: "%.1f items/s", rate)
        if isTerminal {
            FileHandle.standardError.write(Data(("\r" + text).utf8))
        } else if text != lastText && ContinuousClock.now - lastLine >= .seconds(2) {
            FileHandle.standardError.write(Data((text + "\n").utf8))
            lastLine = ContinuousClock.now
        }
        lastText = text
    }

    func finish(state: String) {
        FileHandle.standardError.write(Data(((isTerminal ? "\r" : "") + lastText + "\nrun \(state)\n").utf8))
    }
}
