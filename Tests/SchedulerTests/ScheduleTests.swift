import Foundation
import Logging
import Scheduler
import Testing

@Suite struct ScheduleTests {
    @Test(arguments: Engine.allCases) func oneJobPerSlotAcrossTwoDaemons(_ engine: Engine) async throws {
        let clock = ManualWallClock(1_700_000_000_000)
        let t = try await TestQueue(engine, clock: clock)
        let other = try t.secondQueue()
        let schedule = Schedule(name: "tick", kind: "noop", interval: .seconds(60))
        try await t.queue.register([schedule])
        try await other.register([schedule])
        var enqueued = 0
        for _ in 0..<3 {
            // Both daemons race on each slot, several times per slot.
            for _ in 0..<4 {
                async let a = t.queue.enqueueDueSchedules()
                async let b = other.enqueueDueSchedules()
                enqueued += try await (a + b).filter { !$0.duplicate }.count
            }
            clock.advance(by: .seconds(60))
        }
        #expect(enqueued == 3)
        let jobs = try await t.queue.jobs(JobQuery(kind: "noop")).jobs
        #expect(jobs.count == 3)
        #expect(Set(jobs.compactMap(\.uniqueKey)).count == 3)
    }

    @Test(arguments: Engine.allCases) func disabledScheduleEnqueuesNothingAndOperatorSettingsSurviveRegister(_ engine: Engine) async throws {
        let t = try await TestQueue(engine)
        try await t.queue.register([Schedule(name: "s", kind: "noop", interval: .seconds(60))])
        let updated = try await t.queue.updateSchedule(name: "s", interval: .seconds(120), enabled: false)
        #expect(updated.intervalMs == 120_000 && !updated.enabled)
        try await t.queue.register([Schedule(name: "s", kind: "noop", interval: .seconds(60))])
        let stored = try #require(try await t.queue.schedules().first)
        #expect(stored.intervalMs == 120_000 && !stored.enabled)
        #expect(try await t.queue.enqueueDueSchedules().isEmpty)
        await #expect(throws: SchedulerError.self) { try await t.queue.updateSchedule(name: "nope", interval: nil, enabled: true) }
        await #expect(throws: SchedulerError.self) { try await t.queue.updateSchedule(name: "s", interval: .milliseconds(5), enabled: nil) }
    }

    @Test(arguments: Engine.allCases) func maintenanceServiceEnqueuesAndRescues(_ engine: Engine) async throws {
        let t = try await TestQueue(engine)
        let maintenance = QueueMaintenance(
            driver: t.queue, schedules: [Schedule(name: "m", kind: "noop", interval: .seconds(3600))], tick: .milliseconds(50), logger: testLogger)
        _ = try await t.queue.enqueue([NewJob(kind: "sleep")])
        let held = try #require(try await t.queue.claim(ttl: .milliseconds(100)).first)
        let task = Task { try await maintenance.run() }
        defer { task.cancel() }
        #expect(await eventually(timeout: .seconds(30)) { try await t.queue.state(held.id) == .retryable })
        #expect(await eventually(timeout: .seconds(30)) { try await t.queue.schedules().first?.lastJobId != nil })
    }
}
