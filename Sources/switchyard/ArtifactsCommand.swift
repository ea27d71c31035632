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
                let verifier = ImportSummary.verifier(schemaDirs: schemaDir.map { [$0] }
                                                      ?? ArtifactVerifier.defaultSchemaDirs(artifactsDir: location.artifactsDir))
                do { _ = try ArtifactReader.schema(kind: kind, in: verifier.schemaDirs) } catch { throw CLIError("\(error) (--schema-dir names another)") }
                problems = try verifier.problems(kind: kind, summary: try Data(contentsOf: file))
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
