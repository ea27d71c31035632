import Foundation
import Scheduler
@_spi(Engine) import Store
import Testing
import TestSupport

/// Three daemons on one database: each periodic slot becomes one job, whichever daemon's tick gets there first (no
/// leader to configure).
@Suite(.serialized, .processDiagnostics) struct ScheduleSlotTests {
    @Test(arguments: Engine.allCases) func threeDaemonsRunEachScheduleSlotOnce(_ engine: Engine) async throws {
        let tmp = try TempDir()
        let database = try await DaemonDatabase(engine, tmp: tmp)
        let cli = CommandLineTests()
        // A one-second slot, so a few seconds hold several; every other schedule off.
        for name in ["yard.prune", "payloads.purge", "nodes.probe", "reconcile.run"] {
            let (status, _, err) = try await cli.run(["schedules", "set", name, "--enabled", "false"] + database.args, in: tmp.path)
            try #require(status == 0, "\(err)")
        }
        let (status, _, err) = try await cli.run(["schedules", "set", "usage.settle", "--interval", "1"] + database.args, in: tmp.path)
        try #require(status == 0, "\(err)")
        let args = ["serve", "--role", "worker", "--tick-ms", "50", "--queue", "maintenance=2",
                    "--artifacts-dir", tmp.path + "/artifacts", "--log-level", "info"] + database.args
        let daemons = try ["first", "second", "third"].map { try DaemonProcess(args, logDir: tmp.path, name: $0) }
        // Every daemon is running (the slots below are then shared by three, and SIGTERM finds each past start-up)
        // before any slot counts: on a loaded machine one start-up can take longer than the five slots.
        for daemon in daemons {
            try #require(await eventually(timeout: .seconds(60)) { daemon.stderr.contains("worker pool started") },
                         "\(daemon.name) did not start")
        }
        let settleJobs = {
            try await database.db.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM jobs WHERE kind = 'usage.settle'") ?? 0 }
        }
        #expect(await eventually(timeout: .seconds(60)) { try await settleJobs() >= 5 })
        for daemon in daemons { daemon.signal(SIGTERM) }
        for daemon in daemons { #expect(await daemon.waitForExit(timeout: .seconds(20)) == 0) }

        let slots = try await database.db.read { db in
            try SQLRow.fetchAll(db, sql: "SELECT unique_key, count(*) AS n FROM jobs WHERE kind = 'usage.settle' GROUP BY unique_key")
                .map { (key: try $0["unique_key"] as String?, count: try $0["n"] as Int) }
        }
        #expect(slots.count >= 5)
        #expect(slots.allSatisfy { $0.count == 1 }, "a slot ran twice: \(slots.filter { $0.count > 1 })")
        #expect(slots.allSatisfy { $0.key?.hasPrefix("schedule:usage.settle:") == true })
        #expect(daemons.allSatisfy { !$0.stderr.contains("database is locked") })
    }
}
