import ArgumentParser

/// `switchyard bench …`: benchmark programs that print figures (never timed assertions).
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks that print figures.",
        subcommands: [QueueBenchCommand.self, GatewayBenchCommand.self, RecordsBenchCommand.self, ConsoleBenchCommand.self, ImportBenchCommand.self, SettleBenchCommand.self, MaintenanceBenchCommand.self,
                      ExecutorBenchCommand.self, QueueBenchWorker.self])
}
