import ArgumentParser
import Foundation
import Scheduler
import Store

/// `switchyard db status`: the schema versions of either engine's database.
struct DbCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db", abstract: "The database's schema.", subcommands: [Status.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the applied and pending migrations (reads only; `serve` applies pending ones at start).")
        @OptionGroup var engine: EngineOptions
        @Flag(help: "Print JSON instead of text.") var json = false

        func run() async throws {
            let status: MigrationStatus
            if let url = engine.postgresURL {
                let logger = makeLogger("switchyard", level: .error)
                status = try await PostgresDatabase.withOpened(url: url, poolSize: 1, migrator: nil, logger: logger) { database in
                    MigrationStatus(
                        engine: "postgresql", engineVersion: try await database.serverVersion(), location: url.description,
                        applied: try await PostgresMigrator.appliedVersions(database.client, logger: logger),
                        known: Storage.postgresMigrator.migrations.map(\.identifier))
                }
            } else {
                status = try AppDatabase.migrationStatus(dataDir: engine.sqlite.dataDir)
            }
            if json {
                print(String(decoding: try JSONEncoder.sortedKeys.encode(status), as: UTF8.self))
                return
            }
            var lines = ["engine   \(status.engine) \(status.engineVersion)", "database \(status.location)",
                         "applied  \(status.applied.count) migrations"]
            lines += status.applied.map { "  \($0)" }
            lines.append("pending  " + (status.pending.isEmpty ? "none" : "\(status.pending.count) (applied at the next start)"))
            lines += status.pending.map { "  \($0)" }
            if !status.unknown.isEmpty {
                lines.append("unknown  \(status.unknown.count) applied by a newer build: \(status.unknown.joined(separator: ", "))")
            }
            print(lines.joined(separator: "\n"))
        }
    }
}
