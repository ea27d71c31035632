import ArgumentParser
import Foundation
import Gateway
import Probe

/// `switchyard batch-import FILE`: posts a list (one `base_url api_key [provider]` per line, or the JSON body)
/// to a running daemon; with `--wait`, shows progress until the run ends, prints the artifact path and exits
/// 0 only when every item succeeded (2: some did, 1: none did or the run was cancelled).
struct BatchImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "batch-import", abstract: "Import upstream channels from a list.")

    @Argument(help: "The list: a text file (base_url api_key [provider] per line), a JSON body ({items, options}), or - for stdin.")
    var file: String

    @Option(help: "The daemon's base URL (env SWITCHYARD_SERVER).")
    var server: String = Env.string("SWITCHYARD_SERVER", "http://127.0.0.1:8080")

    @Option(help: "Admin token (env SWITCHYARD_ADMIN_TOKEN; default: <data-dir>/admin-token).")
    var token: String? = Env.optional("SWITCHYARD_ADMIN_TOKEN")

    @Option(help: "Data directory holding admin-token (env SWITCHYARD_DATA_DIR).")
    var dataDir: String = Env.string("SWITCHYARD_DATA_DIR", "./data")

    @Flag(help: "Follow the run until it ends, with a progress bar on stderr.")
    var wait = false

    @Option(help: "Items probed at once (text lists; JSON bodies carry their own options).")
    var concurrency: Int?

    @Option(help: "Seconds between provisioning and confirmation through the gateway.")
    var confirmDelay: Int?

    @Option(help: "Seconds inside which transient failures are retried.")
    var retryWindow: Int?

    @Option(help: "Attempts per item phase.")
    var maxAttempts: Int?

    @Option(help: "Items started per second at most (0: no pace).")
    var rate: Int?

    @Flag(help: "Probe and decide, change nothing.")
    var dryRun = false

    @Option(help: "An Idempotency-Key, so a retried command returns the same run.")
    var idempotencyKey: String?

    struct Created: Decodable {
        let runId: String
        let items: Int
        enum CodingKeys: String, CodingKey { case items, runId = "run_id" }
    }

    struct Status: Decodable {
        struct Progress: Decodable { let done: Int; let remaining: Int }
        struct Counts: Decodable {
            let byState: [String: Int]
            enum CodingKeys: String, CodingKey { case byState = "by_state" }
        }
        let runId: String
        let state: String
        let total: Int
        let progress: Progress
        let counts: Counts
        let artifactPath: String?
        enum CodingKeys: String, CodingKey {
            case state, total, progress, counts
            case runId = "run_id"
            case artifactPath = "artifact_path"
        }
    }

    func validate() throws {
        if let problem = ErrorText.serverURLProblem(server) { throw ValidationError(problem) }
    }

    func run() async throws {
        let status: Status?
        do {
            // The list and the token are read before anything talks to the daemon, so a missing file is its own error.
            let body = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try readList()
            status = try await AdminHTTP.with(base: server, token: try TargetOptions.adminToken(token, dataDir: dataDir)) { http in
                try await start(http, body: body)
            }
        } catch {
            printError("switchyard: error: \(ConnectionErrorText.describe(error))")
            throw ExitCode(1)
        }
        guard let status else { return }
        print(status.artifactPath ?? "")
        switch status.state {
        case "succeeded": return
        case "partially_succeeded": throw ExitCode(3)  // 2 is a usage error
        default: throw ExitCode(1)
        }
    }

    /// The list file, with an error that names it (Foundation's says "The file … couldn't be opened").
    private func readList() throws -> Data {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) else { throw CLIError("no such file: \(file)") }
        guard !isDirectory.boolValue else { throw CLIError("\(file) is a directory, not a list") }
        do {
            return try Data(contentsOf: URL(fileURLWithPath: file))
        } catch {
            throw CLIError("cannot read \(file): \(error.localizedDescription)")
        }
    }

    /// Posts the list; with `--wait`, follows the run and returns its final status.
    private func start(_ http: AdminHTTP, body: Data) async throws -> Status? {
        let isJSON = body.first(where: { ![0x20, 0x0A, 0x0D, 0x09].contains($0) }) == UInt8(ascii: "{")
        var query: [String] = []
        if let concurrency { query.append("concurrency=\(concurrency)") }
        if let confirmDelay { query.append("confirm_delay_s=\(confirmDelay)") }
        if let retryWindow { query.append("retry_window_s=\(retryWindow)") }
        if let maxAttempts { query.append("max_attempts=\(maxAttempts)") }
        if let rate { query.append("rate_per_s=\(rate)") }
        if dryRun { query.append("dry_run=true") }
        let path = "/api/batch-import/runs" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
        let created: Created = try await http.call(.POST, path, body: body, contentType: isJSON ? "application/json" : "text/plain",
                                                   headers: idempotencyKey.map { [("Idempotency-Key", $0)] } ?? [])
        printError("run \(created.runId): \(created.items) item(s) queued")
        guard wait else {
            print(created.runId)
            return nil
        }
        let bar = ProgressBar(total: created.items)
        while true {
            let status: Status = try await http.call(.GET, "/api/batch-import/runs/\(created.runId)")
            bar.show(done: status.progress.done, failed: status.counts.byState["failed"] ?? 0, remaining: status.progress.remaining)
            if status.artifactPath != nil {
                bar.finish(state: status.state)
                return status
            }
            try await Task.sleep(for: .milliseconds(250))
        }
    }
}
