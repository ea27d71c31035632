import Foundation

/// A one-line progress bar on stderr (redrawn in place on a terminal, a line every few seconds otherwise):
/// done of total, what else the caller says, and the rate.
final class ProgressBar {
    let total: Int
    let unit: String
    /// Done before this bar was made (a resumed run): left out of the rate.
    let alreadyDone: Int
    let started = ContinuousClock.now
    let isTerminal = isatty(STDERR_FILENO) == 1
    private var lastLine = ContinuousClock.now - .seconds(60)
    private var lastText = ""

    init(total: Int, unit: String = "items", alreadyDone: Int = 0) {
        self.total = total
        self.unit = unit
        self.alreadyDone = alreadyDone
    }

    func show(done: Int, failed: Int, remaining: Int) {
        show(done: done, note: "done, \(failed) failed, \(remaining) remaining")
    }

    /// Redraws the bar: `done` of the total, then `note` (which says what the numbers count), then the rate since the
    /// bar was made.
    func show(done: Int, note: String) {
        let elapsed = (ContinuousClock.now - started) / .seconds(1)
        let rate = elapsed > 0 ? Double(done - alreadyDone) / elapsed : 0
        let width = 30
        let filled = total == 0 ? width : min(width, done * width / total)
        let text = "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] "
            + "\(done)/\(total) \(note), " + String(format: "%.1f \(unit)/s", rate)
        if isTerminal {
            FileHandle.standardError.write(Data(("\r" + text).utf8))
        } else if text != lastText && ContinuousClock.now - lastLine >= .seconds(2) {
            FileHandle.standardError.write(Data((text + "\n").utf8))
            lastLine = ContinuousClock.now
        }
        lastText = text
    }

    func finish(state: String) {
        finish(line: "run \(state)")
    }

    /// Leaves the last bar on its own line, then `line`.
    func finish(line: String) {
        FileHandle.standardError.write(Data(((isTerminal ? "\r" : "") + lastText + "\n" + line + "\n").utf8))
    }
}
