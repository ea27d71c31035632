import ArgumentParser
import Artifacts
import Foundation
import Jobs

/// `switchyard artifacts list|show|verify`: the acceptance artifacts under `--artifacts-dir`.
struct ArtifactsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "artifacts", abstract: "List, show and verify acceptance artifacts.", subcommands: [List.self, Show.self, Verify.self])

    struct Location: ParsableArguments {
        @Option(help: "Where artifacts live (env SWITCHYARD_ARTIFACTS_DIR).")
        var artifactsDir: String = Env.string("SWITCHYARD_ARTIFACTS_DIR", "./artifacts")

        var reader: ArtifactReader { ArtifactReader(root: URL(fileURLWithPath: artifactsDir)) }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List artifacts, oldest first.")
        @OptionGroup var location: Location
        @Option(help: "Only this kind (batch-import, usage.settle, …).")
        var kind: String?

        func run() throws {
            for entry in location.reader.all(kind: kind) { print("\(entry.kind)\t\(entry.folder.lastPathComponent)\t\(entry.folder.path)") }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print an artifact's summary.json.")
        @OptionGroup var location: Location
        @Argument(help: "A run or job id, or a path to the artifact.")
        var reference: String

        func run() throws {
            do {
                let (_, file) = try location.reader.summary(reference)
                print(String(decoding: try Data(contentsOf: file), as: UTF8.self))
            } catch {
                printError("switchyard: error: \(error)")
                throw ExitCode(1)
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a summary against its JSON Schema (<schema-dir>/<kind>.schema.json) and that its counts add up.")
        @OptionGroup var location: Location
        @Option(help: "Where the schemas are; default: <artifacts-dir>/schema.")
        var schemaDir: String?
        @Argument(help: "A run or job id, or a path to the artifact.")
        var reference: String

        func run() throws {
            var problems: [String] = []
            let file: URL
            do {
                let (kind, found) = try location.reader.summary(reference)
                file = found
                // The schemas ship in the repository's artifacts/schema; a custom artifacts dir may not hold a copy.
                let schemaDirs = schemaDir.map { [$0] } ?? [location.artifactsDir + "/schema", "./artifacts/schema"]
                let schema: URL
                do { schema = try ArtifactReader.schema(kind: kind, in: schemaDirs) } catch { throw CLIError("\(error) (--schema-dir names another)") }
                let data = try Data(contentsOf: file)
                problems = try SchemaValidator.violations(json: data, schema: try Data(contentsOf: schema))
                if kind == ImportSummary.kind, problems.isEmpty, let mismatch = try JSONDecoder().decode(ImportSummary.self, from: data).countMismatch() {
                    problems.append("$.counts: \(mismatch)")
                }
            } catch {
                printError("switchyard: error: \(error)")
                throw ExitCode(1)
            }
            guard problems.isEmpty else {
                for problem in problems { printError("invalid: \(problem)") }
                throw ExitCode(1)
            }
            print("valid: \(file.path)")
        }
    }
}
