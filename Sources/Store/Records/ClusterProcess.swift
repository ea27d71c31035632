import Foundation

/// One Switchyard process sharing the database: registered at start, heartbeating while it runs, removed when it
/// stops cleanly. One that stops heartbeating (killed, its machine gone) is dead after `ClusterProcess.deadAfter`
/// heartbeats and left out of every listing.
public struct ClusterProcess: Codable, Sendable, Equatable, StoreRecord {
    public static let databaseTableName = "processes"
    public static let primaryKey = ["id"]

    /// Random, unique per start: `<host>-<pid>-<6 hex>`.
    public var id: String
    /// `all`, `gateway` or `worker`.
    public var role: String
    public var host: String
    public var pid: Int64
    public var version: String
    /// Where its HTTP server listens (`http://host:port`); nil for a worker.
    public var address: String?
    public var startedAt: Int64
    public var heartbeatAt: Int64

    enum CodingKeys: String, CodingKey {
        case id, role, host, pid, version, address
        case startedAt = "started_at"
        case heartbeatAt = "heartbeat_at"
    }

    public init(id: String, role: String, host: String, pid: Int64, version: String, address: String? = nil,
                startedAt: Int64, heartbeatAt: Int64) {
        self.id = id
        self.role = role
        self.host = host
        self.pid = pid
        self.version = version
        self.address = address
        self.startedAt = startedAt
        self.heartbeatAt = heartbeatAt
    }

    /// This process, about to register.
    public static func current(role: String, version: String, now: Int64) -> ClusterProcess {
        let host = ProcessInfo.processInfo.hostName
        let pid = Int64(ProcessInfo.processInfo.processIdentifier)
        return ClusterProcess(id: "\(host)-\(pid)-" + String(format: "%06x", UInt32.random(in: 0...0xFF_FFFF)), role: role,
                              host: host, pid: pid, version: version, startedAt: now, heartbeatAt: now)
    }

    /// Missed heartbeats after which a process is taken for dead.
    public static let deadAfter = 3

    /// Seconds between heartbeats unless `serve --cluster-heartbeat` says otherwise.
    public static let defaultHeartbeatSeconds: Double = 5

    /// Milliseconds without a heartbeat after which a process is dead, at the default heartbeat.
    public static var defaultDeadAfterMs: Int64 { Int64(Double(deadAfter) * defaultHeartbeatSeconds * 1000) }
}
