import ArgumentParser
import Foundation
import Scheduler
import Store

/// `switchyard db status`: the schema versions of either engine's database.
struct DbCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db", abstract: "The database's schema, and the move from SQLite to PostgreSQL.",
        subcommands: [Status.self, Copy.self])

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

    struct Copy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a SQLite database into PostgreSQL: every user, key, channel, price, node, log, trace, payload, "
                + "settlement, import and reconcile run, schedule and unfinished job.",
            discussion: """
                Stop every daemon on both databases first. Rows go in batches, each committed with the copy's \
                place, so a copy that is cut off is run again with the same command and goes on where it stopped \
                without writing a row twice; a run after a finished copy copies only rows the source gained since. \
                Counts of every table are compared at the end. Sealed upstream keys stay sealed: give the secret key \
                the SQLite daemon ran with (its data directory's secret-key file, or SWITCHYARD_SECRET_KEY), and run \
                the PostgreSQL processes with the same key (and SWITCHYARD_PAYLOAD_KEY if payloads were captured).
                """)

        @Option(help: "The SQLite database: its file, or the data directory holding switchyard.sqlite.")
        var from: String

        @Option(help: "The PostgreSQL database to copy into: postgres://user:password@host:port/database.")
        var to: String

        @Option(help: "The file holding the secret key the source's upstream keys are sealed with (else env SWITCHYARD_SECRET_KEY).")
        var secretKeyFile: String?

        @Flag(help: "Copy into a database that already holds data of its own: its rows stay, and source rows whose key it already has are skipped and counted.")
        var intoNonEmpty = false

        @Option(help: "Rows per batch (one transaction each; captured payloads at most 100).")
        var batchRows = 5000

        @Flag(help: "Print the per-table counts as JSON instead of a table.") var json = false

        func validate() throws {
            guard batchRows > 0 else { throw ValidationError("--batch-rows must be at least 1") }
            do {
                _ = try DatabaseURL(to)
            } catch {
                throw ValidationError("--to: \(error)")
            }
        }

        func run() async throws {
            let logger = makeLogger("switchyard", level: .error)
            let keys = try DatabaseCopy.Keys(secrets: secretKey(), payloads: Env.optional("SWITCHYARD_PAYLOAD_KEY").map {
                try SecretBox(base64: $0, name: "SWITCHYARD_PAYLOAD_KEY")
            })
            let source = try AppDatabase(options: SQLiteOptions(path: try sourceFile()))
            let url = try DatabaseURL(to)
            let started = ContinuousClock.now
            let (plan, counts) = try await Storage.withStore(url: url, poolSize: 2, logger: logger) { target, _ in
                let copy = try DatabaseCopy(from: source, to: target)
                let plan = try await copy.plan(keys: keys, intoNonEmpty: intoNonEmpty, now: SystemWallClock().nowMillis(),
                                              heartbeatDeadline: Int64(ClusterCommand.deadAfterSeconds * 1000))
                if plan.resumedRows > 0 { printError("resuming an earlier copy from \(source.path): \(plan.resumedRows) rows already done") }
                let bar = ProgressBar(total: Int(plan.sourceRows), unit: "rows", alreadyDone: Int(plan.resumedRows))
                let counts = try await copy.run(plan, batchRows: batchRows, now: { SystemWallClock().nowMillis() }) { done, table in
                    bar.show(done: Int(done), note: "rows (\(table))")
                }
                bar.finish(line: "copied \(source.path) into \(url.location)")
                return (plan, counts)
            }
            let seconds = (ContinuousClock.now - started) / .seconds(1)
            let mismatched = plan.mismatched(counts)
            if json {
                let report = Report(source: source.path, target: url.location, seconds: seconds, resumedRows: plan.resumedRows,
                                    tables: counts, mismatched: mismatched)
                let encoder = JSONEncoder.sortedKeys
                encoder.keyEncodingStrategy = .convertToSnakeCase
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else {
                print(Self.table(counts, held: plan.held))
                let copied = counts.reduce(0) { $0 + $1.copied }
                print("copied \(copied) rows in " + String(format: "%.1f s (%.0f rows/s)", seconds, Double(copied) / max(seconds, 0.001)))
            }
            guard mismatched.isEmpty else {
                throw CLIError("the counts differ in \(mismatched.joined(separator: ", ")): the target does not hold every source row")
            }
            if !json { print("every table's count matches") }
        }

        /// The source file: `--from` itself, or `switchyard.sqlite` in it when it is a directory; never created.
        private func sourceFile() throws -> String {
            var isDirectory: ObjCBool = false
            let path = FileManager.default.fileExists(atPath: from, isDirectory: &isDirectory) && isDirectory.boolValue
                ? from + "/switchyard.sqlite" : from
            guard FileManager.default.fileExists(atPath: path) else { throw CLIError("no SQLite database at \(path)") }
            return path
        }

        private func secretKey() throws -> SecretBox? {
            if let secretKeyFile { return try SecretBox.read(file: secretKeyFile) }
            return try Env.optional("SWITCHYARD_SECRET_KEY").map { try SecretBox(base64: $0, name: "SWITCHYARD_SECRET_KEY") }
        }

        struct Report: Encodable {
            let source: String
            let target: String
            let seconds: Double
            let resumedRows: Int64
            let tables: [DatabaseCopy.TableCount]
            let mismatched: [String]
        }

        /// One line per table: its rows on each side and what this run did.
        static func table(_ counts: [DatabaseCopy.TableCount], held: [String: Int64]) -> String {
            let header = ["table", "source", "target", "copied", "skipped"]
            let rows = counts.map { count in
                [count.table, "\(count.source)", "\(count.target)", "\(count.copied)", "\(count.skipped)"]
                    + (held[count.table].map { ["(the target held \($0) of its own)"] } ?? [])
            }
            let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
            return ([header] + rows).map { row in
                row.enumerated().map { index, cell in
                    index >= widths.count ? cell
                        : index == 0 ? cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
                        : String(repeating: " ", count: widths[index] - cell.count) + cell
                }.joined(separator: "  ")
            }.joined(separator: "\n")
        }
    }
}
