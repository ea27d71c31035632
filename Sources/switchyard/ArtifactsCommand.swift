import ArgumentParser
import Foundation
import Jobs

/// `switchyard artifacts list|show|verify`: the acceptance artifacts under `--artifacts-dir`.
struct ArtifactsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "artifacts", abstract: "List, show and verify acceptance artifacts.", subcommands: [List.self, Show.self, Verify.self])

    struct Location: ParsableArguments {
        @Option(help: "Where artifacts live (env SWITCHYARD_ARTIFACTS_DIR).")
        var artifactsDir: String = Env.string("SWITCHYARD_ARTIFACTS_DIR", "./artifacts")

        var root: URL { URL(fileURLWithPath: artifactsDir) }

        /// Every artifact folder, oldest first per kind: `<kind>/<stamp>_<id>`.
        func all(kind: String? = nil) -> [(kind: String, folder: URL)] {
            let manager = FileManager.default
            let kinds = ((try? manager.contentsOfDirectory(atPath: artifactsDir)) ?? []).filter { $0 != "schema" && !$0.hasPrefix(".") }.sorted()
            return kinds.filter { kind == nil || $0 == kind }.flatMap { kind in
                ((try? manager.contentsOfDirectory(atPath: artifactsDir + "/" + kind)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
                    .map { (kind, root.appendingPathComponent(kind).appendingPathComponent($0)) }
            }
        }

        /// A summary.json named by path (file or folder) or by the id at the end of its folder's name.
        func summary(_ reference: String) throws -> (kind: String, file: URL) {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: reference, isDirectory: &isDirectory) {
                let url = URL(fileURLWithPath: reference)
                let file = isDirectory.boolValue ? url.appendingPathComponent("summary.json") : url
                return (file.deletingLastPathComponent().deletingLastPathComponent().lastPathComponent, file)
            }
            let matches = all().filter { $0.folder.lastPathComponent.hasSuffix("_" + reference) }
            guard let match = matches.last else { throw CLIError("no artifact for \(reference) under \(artifactsDir)") }
            return (match.kind, match.folder.appendingPathComponent("summary.json"))
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List artifacts, oldest first.")
        @OptionGroup var location: Location
        @Option(help: "Only this kind (batch-import, usage.settle, …).")
        var kind: String?

        func run() throws {
            for (kind, folder) in location.all(kind: kind) { print("\(kind)\t\(folder.lastPathComponent)\t\(folder.path)") }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print an artifact's summary.json.")
        @OptionGroup var location: Location
        @Argument(help: "A run or job id, or a path to the artifact.")
        var reference: String

        func run() throws {
            do {
                let (_, file) = try location.summary(reference)
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
                let (kind, found) = try location.summary(reference)
                file = found
                // The schemas ship in the repository's artifacts/schema; a custom artifacts dir may not hold a copy.
                let candidates = (schemaDir.map { [$0] } ?? [location.artifactsDir + "/schema", "./artifacts/schema"])
                    .map { URL(fileURLWithPath: $0).appendingPathComponent("\(kind).schema.json") }
                guard let schema = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
                    throw CLIError("no schema for \(kind): looked for \(candidates.map(\.path).joined(separator: ", ")) (--schema-dir names another)")
                }
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
