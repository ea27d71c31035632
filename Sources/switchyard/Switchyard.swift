import ArgumentParser
import Foundation
import Probe

/// The `switchyard` command line: the daemon, the control verbs and the benchmarks.
@main
struct Switchyard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard",
        abstract: "An AI API relay gateway with a leased job queue in SQLite.",
        version: Switchyard.version,
        subcommands: [ServeCommand.self, JobsCommand.self, SchedulesCommand.self, MockUpstreamCommand.self, BenchCommand.self,
                      BatchImportCommand.self, ArtifactsCommand.self, DbCommand.self, ClusterCommand.self])

    /// This build's version: `--version`, and each process's row in the cluster list.
    static let version = "0.15.0"

    /// Parses and runs the command. Exit codes: 0 success, 1 a failure (one line on stderr), 2 a usage error
    /// (ArgumentParser's own code for those is 64, EX_USAGE).
    static func main() async {
        var command: any ParsableCommand
        do {
            command = try await asyncParseAsRoot()
        } catch {
            exitForUsage(error)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let code as ExitCode {
            // The command has already said why.
            Foundation.exit(code.rawValue)
        } catch {
            // ArgumentParser's own (help asked for, a ValidationError thrown by run()) keep its wording.
            let code = exitCode(for: error)
            if code.isSuccess || code == .validationFailure { exitForUsage(error) }
            printError("switchyard: error: \(ConnectionErrorText.describe(error))")
            Foundation.exit(1)
        }
    }

    /// Help goes to stdout with 0; anything else ArgumentParser rejected goes to stderr with 2.
    private static func exitForUsage(_ error: any Error) -> Never {
        let code = exitCode(for: error)
        let message = fullMessage(for: error)
        if code.isSuccess {
            if !message.isEmpty { print(message) }
            Foundation.exit(0)
        }
        if !message.isEmpty { printError(message) }
        Foundation.exit(code == .validationFailure ? 2 : code.rawValue)
    }
}
