import Foundation
import Synchronization
import Testing

/// What a process-level test started: its child processes and temp directories. When the test fails, the
/// record adds one issue with each process's exit status and the tail of its log, and keeps the temp
/// directories (their paths are in that issue), so a failure says why without a second run.
final class ProcessTestRecord: Sendable {
    @TaskLocal static var current: ProcessTestRecord?

    private struct State {
        var processes: [DaemonProcess] = []
        var directories: [TempDir] = []
        var failed = false
    }

    private let state = Mutex(State())

    func add(_ process: DaemonProcess) { state.withLock { $0.processes.append(process) } }
    func add(_ directory: TempDir) { state.withLock { $0.directories.append(directory) } }
    func markFailed() { state.withLock { $0.failed = true } }
    var failed: Bool { state.withLock { $0.failed } }

    /// Keeps the temp directories and describes every process: exit status, and for those that did not exit 0,
    /// the last lines of stderr and stdout.
    func failureReport() -> String {
        let (processes, directories) = state.withLock { ($0.processes, $0.directories) }
        for directory in directories { directory.keep() }
        var lines = ["process diagnostics; temp dir(s) kept: " + (directories.isEmpty ? "none" : directories.map(\.path).joined(separator: ", "))]
        for process in processes {
            lines.append("- \(process.name) [\(process.commandLine)]: \(process.exitDescription)")
            guard process.exitedCleanly != true else { continue }
            for (label, text, count) in [("stderr", process.stderr, 40), ("stdout", process.stdout, 10)] {
                let tail = text.split(separator: "\n", omittingEmptySubsequences: false).suffix(count + 1)
                    .joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
                guard !tail.isEmpty else { continue }
                lines.append("  \(label) (last \(count) lines of \(label == "stderr" ? process.stderrPath : process.stdoutPath)):")
                lines += tail.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }
            }
        }
        return lines.joined(separator: "\n")
    }
}

/// Applies `ProcessTestRecord` to every test of a suite: `@Suite(.serialized, .processDiagnostics)`.
struct ProcessDiagnostics: SuiteTrait, TestTrait, TestScoping {
    var isRecursive: Bool { true }

    /// One record per test case (not per suite).
    func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? { testCase == nil ? nil : self }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let record = ProcessTestRecord()
        let watch = IssueHandlingTrait.compactMapIssues { issue in
            if issue.isFailure { record.markFailed() }
            return issue
        }
        let outcome: Result<Void, any Error> = await ProcessTestRecord.$current.withValue(record) {
            do {
                try await watch.provideScope(for: test, testCase: testCase, performing: function)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        if case .failure = outcome { record.markFailed() }
        if record.failed { Issue.record(Comment(rawValue: record.failureReport())) }
        try outcome.get()
    }
}

extension Trait where Self == ProcessDiagnostics {
    /// On failure: each child process's exit status and log tail, and the temp directories kept.
    static var processDiagnostics: Self { ProcessDiagnostics() }
}
