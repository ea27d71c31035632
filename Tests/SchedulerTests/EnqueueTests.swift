import Foundation
import GRDB
import Scheduler
import Testing

@Suite struct EnqueueTests {
    @Test func enqueueOneIsAvailableWithDefaults() async throws {
        let t = try TempDatabase()
        let result = try await t.queue.enqueue([NewJob(kind: "noop")])
        #expect(result.count == 1 && !result[0].duplicate)
        let job = try #require(try await t.queue.job(id: result[0].id))
        #expect(job.state == .available)
        #expect(job.kind == "noop" && job.queue == "default" && job.attempt == 0 && job.maxAttempts == 20)
    }

    @Test func enqueueManyReturnsIdsInOrder() async throws {
        let t = try TempDatabase()
        let jobs = (0..<1000).map { NewJob(kind: "noop", args: "{\"i\":\($0)}") }
        let results = try await t.queue.enqueue(jobs)
        #expect(results.count == 1000)
        for (index, result) in results.enumerated() {
            let job = try #require(try await t.queue.job(id: result.id))
            #expect(job.args == .object(["i": .number(Double(index))]))
        }
    }

    @Test func futureRunAtIsScheduledAndNotClaimed() async throws {
        let clock = ManualWallClock()
        let t = try TempDatabase(clock: clock)
        let id = try await t.queue.enqueue([NewJob(kind: "noop", runAt: clock.nowMillis() + 60_000)])[0].id
        #expect(try await t.queue.state(id) == .scheduled)
        #expect(try await t.queue.claim().isEmpty)
        clock.advance(by: .seconds(61))
        #expect(try await t.queue.claim().map(\.id) == [id])
    }

    @Test func uniqueKeyRefusesSecondLiveJobButNotAfterCompletion() async throws {
        let t = try TempDatabase()
        let first = try await t.queue.enqueue([NewJob(kind: "noop", uniqueKey: "k1")])[0]
        let second = try await t.queue.enqueue([NewJob(kind: "noop", uniqueKey: "k1")])[0]
        #expect(second.duplicate && second.id == first.id)
        // In one bulk call, too.
        let bulk = try await t.queue.enqueue([NewJob(kind: "noop", uniqueKey: "k2"), NewJob(kind: "noop", uniqueKey: "k2")])
        #expect(!bulk[0].duplicate && bulk[1].duplicate && bulk[1].id == bulk[0].id)
        let claimed = try await t.queue.claim()
        for job in claimed { _ = try await t.queue.ack(job, .completed) }
        let third = try await t.queue.enqueue([NewJob(kind: "noop", uniqueKey: "k1")])[0]
        #expect(!third.duplicate && third.id != first.id)
    }

    @Test func malformedArgsAreRefusedAndNothingIsStored() async throws {
        let t = try TempDatabase()
        await #expect(throws: SchedulerError.invalidJob("args must be valid JSON")) {
            try await t.queue.enqueue([NewJob(kind: "noop"), NewJob(kind: "noop", args: "{not json")])
        }
        #expect(try await t.queue.jobs(JobQuery()).jobs.isEmpty)
    }

    @Test func invalidFieldsAreRefused() async throws {
        let t = try TempDatabase()
        await #expect(throws: SchedulerError.self) { try await t.queue.enqueue([NewJob(kind: "")]) }
        await #expect(throws: SchedulerError.self) { try await t.queue.enqueue([NewJob(kind: "noop", maxAttempts: 0)]) }
    }

    @Test func enqueueInsideCallerTransactionRollsBackWithIt() async throws {
        let t = try TempDatabase()
        try await t.pool.write { db in try db.execute(sql: "CREATE TABLE business (x INTEGER)") }
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            try await t.pool.write { db in
                try db.execute(sql: "INSERT INTO business VALUES (1)")
                _ = try t.queue.enqueue([NewJob(kind: "noop")], in: db)
                throw Boom()
            }
        }
        #expect(try await t.queue.jobs(JobQuery()).jobs.isEmpty)
        let business = try await t.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM business") }
        #expect(business == 0)
        try await t.pool.write { db in
            try db.execute(sql: "INSERT INTO business VALUES (1)")
            _ = try t.queue.enqueue([NewJob(kind: "noop")], in: db)
        }
        #expect(try await t.queue.jobs(JobQuery()).jobs.count == 1)
    }
}
