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

/// Which database a verb opens: the SQLite file in `--data-dir`, or PostgreSQL with `--database-url`.
struct EngineOptions: ParsableArguments {
    @OptionGroup var sqlite: DatabaseOptions

    @Option(help: ArgumentHelp(
        "PostgreSQL instead of the SQLite file: postgres://user:password@host:port/database?sslmode=… (env SWITCHYARD_DATABASE_URL). The password is never printed.",
        valueName: "url"))
    var databaseURL: String? = Env.optional("SWITCHYARD_DATABASE_URL")

    @Option(help: "PostgreSQL connections this process may open (env SWITCHYARD_DATABASE_POOL).")
    var databasePool: Int = Env.int("SWITCHYARD_DATABASE_POOL", 10)

    func validate() throws {
        if let databaseURL {
            do { _ = try DatabaseURL(databaseURL) } catch { throw ValidationError(error.description) }
        }
        if databasePool < 1 { throw ValidationError("--database-pool must be at least 1") }
    }

    /// The parsed `--database-url`, nil for SQLite.
    var postgresURL: DatabaseURL? { databaseURL.flatMap { try? DatabaseURL($0) } }

    /// Where the database is, for messages (the URL without its password, or the SQLite file's path).
    var location: String { postgresURL.map(\.description) ?? sqlite.dataDir + "/switchyard.sqlite" }
}
