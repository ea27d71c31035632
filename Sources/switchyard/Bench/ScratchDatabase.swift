import ArgumentParser
import Scheduler
import Store

/// A benchmark's `--database-url`: a scratch PostgreSQL database, emptied first, instead of SQLite.
struct ScratchDatabaseOption: ParsableArguments {
    @Option(help: ArgumentHelp("Benchmark on PostgreSQL at this URL instead of SQLite (env SWITCHYARD_DATABASE_URL).",
                               discussion: "Use a scratch database: every table is emptied first."))
    var databaseURL: String? = Env.optional("SWITCHYARD_DATABASE_URL")

    func validate() throws {
        if let databaseURL { _ = try DatabaseURL(databaseURL) }
    }

    /// Empties the scratch database and runs `body` on its store and queue; nil (and `body` not run) on SQLite.
    @discardableResult
    func withEmptied<T: Sendable>(poolSize: Int, _ body: (AppDatabase, PostgresQueue) async throws -> T = { _, _ in () })
        async throws -> T? {
        guard let databaseURL else { return nil }
        return try await Storage.withStore(url: try DatabaseURL(databaseURL), poolSize: poolSize,
                                           logger: makeLogger("bench", level: .warning)) { db, queue in
            try await db.resetScratchPostgres()
            return try await body(db, queue)
        }
    }

    /// The arguments that put a spawned daemon on the same database (none on SQLite).
    var daemonArguments: [String] { databaseURL.map { ["--database-url", $0] } ?? [] }
}
