import Foundation
import Scheduler
@testable import Store
import Testing
import TestSupport

/// The list of processes sharing a database: registered by a heartbeat, dead after three missed ones, removed on a
/// clean stop, forgotten an hour after death.
@Suite struct ClusterMembershipTests {
    @Test(arguments: Engine.allCases) func liveProcessesAreListedAndTheDeadDropOut(_ engine: Engine) async throws {
        let t = try await TestStore(engine)
        let clock = ManualWallClock()
        func member(_ role: String) -> ClusterMembership {
            ClusterMembership(db: t.db, process: .current(role: role, version: "test", now: clock.nowMillis()), interval: .seconds(5),
                              clock: clock, logger: testLogger)
        }
        let gateway = member("gateway")
        clock.advance(by: .milliseconds(10))  // listed oldest first
        let worker = member("worker")
        #expect(gateway.current.id != worker.current.id)
        try await gateway.beat()
        try await worker.beat()
        #expect(try await gateway.members().map(\.role) == ["gateway", "worker"])
        #expect(gateway.deadAfterMs == 15_000)

        // The worker stops heartbeating: listed up to three intervals, then not.
        clock.advance(by: .seconds(14))
        try await gateway.beat()
        #expect(try await gateway.members().count == 2)
        clock.advance(by: .seconds(2))
        try await gateway.beat()
        #expect(try await gateway.members().map(\.role) == ["gateway"])

        // Heartbeating again brings it back (a stalled process, not a dead one), with its address once bound.
        worker.setAddress("http://127.0.0.1:9")
        try await worker.beat()
        let back = try await gateway.members()
        #expect(back.map(\.role) == ["gateway", "worker"] && back.last?.address == "http://127.0.0.1:9")

        // A clean stop removes the row; a process dead for over an hour is deleted by the next heartbeat.
        try await t.db.deregister(worker.current.id)
        #expect(try await gateway.members().map(\.role) == ["gateway"])
        try await worker.beat()
        clock.advance(by: .seconds(3700))
        try await gateway.beat()
        let rows = try await t.db.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM processes") }
        #expect(rows == 1)
    }
}
