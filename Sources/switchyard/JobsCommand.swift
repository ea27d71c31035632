import ArgumentParser
import Foundation
import Gateway
import Probe
import Scheduler

/// How a control verb reaches the queue: `--server URL` (a daemon) or the database (the SQLite file or
/// `--database-url`).
struct TargetOptions: ParsableArguments {
    @OptionGroup var engine: EngineOptions

    @Option(help: "A running daemon's base URL, e.g. http://127.0.0.1:8080 (env SWITCHYARD_SERVER); default: the database file.")
    var server: String? = Env.optional("SWITCHYARD_SERVER")

    @Option(help: "Admin token for --server (env SWITCHYARD_ADMIN_TOKEN; default: <data-dir>/admin-token).")
    var token: String? = Env.optional("SWITCHYARD_ADMIN_TOKEN")

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func validate() throws {
        if let server, let problem = ErrorText.serverURLProblem(server) { throw ValidationError(problem) }
    }

    /// Runs `body` with the backend `--server` chooses; a remote one's HTTP client is shut down however it ends.
    func withBackend<T: Sendable>(_ body: (any ControlBackend) async throws -> T) async throws -> T {
        guard let server else {
            return try await Storage.withQueue(engine, logger: makeLogger("switchyard", level: .error)) { driver in
                try await body(LocalBackend(driver: driver))
            }
        }
        return try await AdminHTTP.with(base: server, token: try Self.adminToken(token, dataDir: engine.sqlite.dataDir)) { http in
            try await body(RemoteBackend(http: http))
        }
    }

    /// The admin token: given, or read from `<data-dir>/admin-token`.
    static func adminToken(_ given: String?, dataDir: String) throws -> String {
        let token = given ?? (try? String(contentsOfFile: dataDir + "/admin-token", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard let token, !token.isEmpty else {
            throw CLIError("talking to a daemon needs an admin token: --token, SWITCHYARD_ADMIN_TOKEN or <data-dir>/admin-token")
        }
        return token
    }

    /// Runs `body` against the backend, printing errors as one line and exiting 1.
    func run<T: Encodable & Sendable>(_ body: (any ControlBackend) async throws -> T, text: (T) -> String) async throws {
        let value: T
        do {
            value = try await withBackend(body)
        } catch {
            printError("switchyard: error: \(ConnectionErrorText.describe(error))")
            throw ExitCode(1)
        }
        if json {
            print(String(decoding: try JSONEncoder.sortedKeys.encode(value), as: UTF8.self))
        } else {
            print(text(value))
        }
    }
}

/// `switchyard jobs list|show|retry|cancel|enqueue`.
struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs", abstract: "Inspect and steer jobs.",
        subcommands: [List.self, Show.self, Retry.self, Cancel.self, Enqueue.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List jobs, newest first.")
        @OptionGroup var target: TargetOptions
        @Option(help: "Only jobs in this state.") var state: String?
        @Option(help: "Only jobs of this kind.") var kind: String?
        @Option(help: "Only jobs of this queue.") var queue: String?
        @Option(help: "Page size (1 to 500).") var limit: Int = 50
        @Option(help: "The next_cursor of the previous page.") var cursor: Int64?

        func run() async throws {
            var query = JobQuery(kind: kind, queue: queue, before: cursor, limit: limit)
            if let state {
                guard let value = JobState(rawValue: state) else { throw ValidationError("unknown state \(state)") }
                query.state = value
            }
            try await target.run({ try await $0.list(query) }) { page in
                var lines = ["ID       STATE      KIND                 QUEUE        ATTEMPT"]
                for job in page.jobs {
                    lines.append([pad("\(job.id)", 8), pad(job.state.rawValue, 10), pad(job.kind, 20), pad(job.queue, 12),
                                  "\(job.attempt)/\(job.maxAttempts)"].joined(separator: " "))
                }
                if let next = page.nextCursor { lines.append("more: --cursor \(next)") }
                return lines.joined(separator: "\n")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one job.")
        @OptionGroup var target: TargetOptions
        @Argument var id: Int64
        func run() async throws { try await target.run({ try await $0.show(id) }, text: describe) }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a job that is not running available again now.")
        @OptionGroup var target: TargetOptions
        @Argument var id: Int64
        func run() async throws { try await target.run({ try await $0.retry(id) }, text: describe) }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a job that has not finished.")
        @OptionGroup var target: TargetOptions
        @Argument var id: Int64
        func run() async throws { try await target.run({ try await $0.cancel(id) }, text: describe) }
    }

    struct Enqueue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Put a job on the queue.")
        @OptionGroup var target: TargetOptions
        @Argument(help: "The job kind, e.g. noop or sleep.") var kind: String
        @Option(help: "Arguments as a JSON value.") var args: String = "{}"
        @Option var queue: String = "default"
        @Option var priority: Int = 0
        @Option var maxAttempts: Int = 20
        @Option(help: "Seconds until the job is due.") var runIn: Double?
        @Option(help: "Seconds from now in which retries may happen.") var retryWindow: Double?
        @Option var uniqueKey: String?

        func run() async throws {
            guard let value = JSONValue(text: args) else { throw ValidationError("--args is not valid JSON") }
            let request = EnqueueRequest(kind: kind, args: value, queue: queue, priority: priority, maxAttempts: maxAttempts,
                                         runInS: runIn, retryWindowS: retryWindow, uniqueKey: uniqueKey)
            try await target.run({ try await $0.enqueue(request) }) { "job \($0.id) \($0.message)" }
        }
    }
}

/// `switchyard schedules list|run|set`.
struct SchedulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedules", abstract: "Periodic jobs.", subcommands: [List.self, Run.self, Change.self])

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enqueue a schedule's job now.")
        @OptionGroup var target: TargetOptions
        @Argument(help: "The schedule's name, e.g. usage.settle.") var name: String
        func run() async throws { try await target.run({ try await $0.runSchedule(name) }) { "job \($0.id) \($0.message)" } }
    }

    struct Change: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set", abstract: "Change a schedule's interval or enabled flag.")
        @OptionGroup var target: TargetOptions
        @Argument(help: "The schedule's name, e.g. usage.settle.") var name: String
        @Option(help: "Seconds between slots (at least 1).") var interval: Double?
        @Option(help: "true or false.") var enabled: Bool?

        func validate() throws {
            guard interval != nil || enabled != nil else { throw ValidationError("give --interval, --enabled or both") }
            if let interval, interval < 1 { throw ValidationError("--interval must be at least 1 second") }
        }

        func run() async throws {
            try await target.run({ try await $0.updateSchedule(name, SchedulePatch(intervalS: interval, enabled: enabled)) }) { s in
                "\(s.name): every \(Int(s.intervalS))s, \(s.enabled ? "enabled" : "disabled")"
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List schedules with their last and next slot.")
        @OptionGroup var target: TargetOptions

        func run() async throws {
            try await target.run({ try await $0.schedules() }) { list in
                list.schedules.map { s in
                    "\(pad(s.name, 20)) \(pad(s.kind, 16)) every \(Int(s.intervalS))s \(s.enabled ? "enabled" : "disabled") last_job=\(s.lastJobId.map(String.init) ?? "-")"
                }.joined(separator: "\n")
            }
        }
    }
}

private func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

private func describe(_ job: JobRecord) -> String {
    var lines = ["job \(job.id): \(job.kind) on \(job.queue), \(job.state.rawValue), attempt \(job.attempt)/\(job.maxAttempts)"]
    lines.append("args: \(job.args.text)")
    if let owner = job.leaseOwner { lines.append("last worker: \(owner)") }
    for error in job.errors { lines.append("error: \(error.text)") }
    return lines.joined(separator: "\n")
}
