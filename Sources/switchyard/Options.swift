import ArgumentParser
import Logging
import Scheduler

/// Where the SQLite file lives; shared by every verb that opens it.
struct DatabaseOptions: ParsableArguments {
    @Option(help: "Data directory holding switchyard.sqlite (env SWITCHYARD_DATA_DIR).")
    var dataDir: String = Env.string("SWITCHYARD_DATA_DIR", "./data")

    @Option(help: "SQLite durability: full (fsync every commit) or normal (env SWITCHYARD_SYNCHRONOUS).")
    var synchronous: SQLiteOptions.Synchronous = SQLiteOptions.Synchronous(rawValue: Env.string("SWITCHYARD_SYNCHRONOUS", "full").uppercased()) ?? .full
}

extension SQLiteOptions.Synchronous: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.uppercased()) }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// A stderr logger at the given level.
func makeLogger(_ label: String, level: Logger.Level) -> Logger {
    var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
    logger.logLevel = level
    return logger
}
