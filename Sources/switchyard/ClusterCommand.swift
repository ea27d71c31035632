import ArgumentParser
import Foundation
import Scheduler
import Store

/// `switchyard cluster`: the live processes sharing the database (SQLite file or `--database-url`).
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster", abstract: "List the live Switchyard processes sharing the database.")

    @OptionGroup var engine: EngineOptions
    @Option(help: "Seconds without a heartbeat after which a process counts as dead (3 of serve's --cluster-heartbeat).")
    var deadAfter: Double = Self.deadAfterSeconds
    @Flag(help: "Print JSON instead of text.") var json = false

    /// Seconds between heartbeats, as `serve` takes them (env SWITCHYARD_CLUSTER_HEARTBEAT).
    static var heartbeatSeconds: Double { Env.double("SWITCHYARD_CLUSTER_HEARTBEAT", ClusterProcess.defaultHeartbeatSeconds) }

    /// Seconds without a heartbeat after which a process counts as dead.
    static var deadAfterSeconds: Double { Double(ClusterProcess.deadAfter) * heartbeatSeconds }

    func run() async throws {
        let now = SystemWallClock().nowMillis()
        let deadAfterMs = Int64(deadAfter * 1000)
        let members = try await Storage.withDatabase(engine, logger: makeLogger("switchyard", level: .error)) { db in
            try await db.liveProcesses(now: now, deadAfter: deadAfterMs)
        }
        if json {
            print(String(decoding: try JSONEncoder.sortedKeys.encode(members), as: UTF8.self))
            return
        }
        var lines = ["\(members.count) live process\(members.count == 1 ? "" : "es") (heartbeat within \(format(deadAfter, 0)) s)"]
        for member in members {
            let started = Date(timeIntervalSince1970: Double(member.startedAt) / 1000).formatted(.iso8601)
            lines.append("\(member.id)  \(member.role)  pid \(member.pid)  v\(member.version)  started \(started)  "
                         + "last heartbeat \(format(Double(now - member.heartbeatAt) / 1000, 1)) s ago"
                         + (member.address.map { "  \($0)" } ?? ""))
        }
        print(lines.joined(separator: "\n"))
    }
}
