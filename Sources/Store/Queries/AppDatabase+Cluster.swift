import Foundation

extension AppDatabase {
    /// Writes `process` (inserted, or its row replaced): its registration and each heartbeat after, so a row removed
    /// while the process was stalled comes back. Rows of processes dead for over an hour are deleted on the way.
    public func heartbeat(_ process: ClusterProcess) async throws {
        try await write(isolation: .readCommitted) { db in
            try process.save(db)
            try db.execute(sql: "DELETE FROM processes WHERE heartbeat_at < ?", arguments: [process.heartbeatAt - 3_600_000])
        }
    }

    /// Removes a process that stops cleanly.
    public func deregister(_ id: String) async throws {
        try await write { db in _ = try ClusterProcess.deleteOne(db, key: id) }
    }

    /// The processes that heartbeated within `deadAfter` milliseconds of `now`, oldest first.
    public func liveProcesses(now: Int64, deadAfter: Int64) async throws -> [ClusterProcess] {
        try await read { db in
            try ClusterProcess.fetchAll(db, sql: "SELECT * FROM processes WHERE heartbeat_at >= ? ORDER BY started_at, id",
                                        arguments: [now - deadAfter])
        }
    }
}
