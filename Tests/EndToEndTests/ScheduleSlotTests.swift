import Foundation
import GRDB
import Scheduler
@_spi(Engine) import Store
import Testing

/// Two daemons on one database: each periodic slot becomes one job, whichever daemon's tick gets there first.
@Suite(.serialized, .processDiagnostics) struct ScheduleSlotTests {
    @Test func twoDaemonsRunEachScheduleSlotOnce() async throws {
        let tmp = try TempDir()
        let dataDir = tmp.path + "/data"
        let cli = CommandLineTests()
        try createDatabase(dataDir: dataDir)
        // A one-second slot, so a few seconds hold several; every other schedule off.
        for name in ["yard.prune", "payloads.purge", "nodes.probe", "reconcile.run"] {
            let (status, _, err) = try await cli.run(["schedules", "set", name, "--enabled", "false", "--data-dir", dataDir], in: tmp.path)
            try #require(status == 0, "\(err)")
        }
        let (status, _, err) = try await cli.run(["schedules", "set", "usage.settle", "--interval", "1", "--data-dir", dataDir], in: tmp.path)
        try #require(status == 0, "\(err)")
        let args = ["serve", "--role", "worker", "--data-dir", dataDir, "--tick-ms", "50", "--queue", "maintenance=2",
                    "--artifacts-dir", tmp.path + "/artifacts", "--log-level", "info"]
        let first = try DaemonProcess(args, logDir: tmp.path, name: "first")
        let second = try DaemonProcess(args, logDir: tmp.path, name: "second")
        // Both daemons are running (the slots below are then shared by two, and SIGTERM finds both past start-up)
        // before any slot counts: on a loaded machine one start-up can take longer than the five slots.
        for daemon in [first, second] {
            try #require(await eventually(timeout: .seconds(60)) { daemon.stderr.contains("worker pool started") },
                         "\(daemon.name) did not start")
        }
        let queue = try openQueue(dataDir: dataDir)
        let settleJobs = { try await queue.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM jobs WHERE kind = 'usage.settle'") ?? 0 } }
        #expect(await eventually(timeout: .seconds(60)) { try await settleJobs() >= 5 })
        first.signal(SIGTERM)
        second.signal(SIGTERM)
        #expect(await first.waitForExit(timeout: .seconds(20)) == 0)
        #expect(await second.waitForExit(timeout: .seconds(20)) == 0)

        let rows = try await queue.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT unique_key, count(*) AS n FROM jobs WHERE kind = 'usage.settle' GROUP BY unique_key")
        }
        #expect(rows.count >= 5)
        #expect(rows.allSatisfy { ($0["n"] as Int) == 1 }, "a slot ran twice: \(rows.filter { ($0["n"] as Int) > 1 })")
        #expect(rows.allSatisfy { ($0["unique_key"] as String?)?.hasPrefix("schedule:usage.settle:") == true })
        #expect(!first.stderr.contains("database is locked") && !second.stderr.contains("database is locked"))
    }
}
