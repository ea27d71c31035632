import ArgumentParser

/// The `switchyard` command line: the daemon, the control verbs and the benchmarks.
@main
struct Switchyard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard",
        abstract: "An AI API relay gateway with a leased job queue in SQLite.",
        subcommands: [ServeCommand.self, JobsCommand.self, SchedulesCommand.self, MockUpstreamCommand.self, BenchCommand.self,
                      BatchImportCommand.self, ArtifactsCommand.self])
}
