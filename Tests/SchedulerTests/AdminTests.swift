import Foundation
import Scheduler
import Testing

@Suite struct AdminTests {
    @Test(arguments: Engine.allCases) func listFiltersAndPaginatesWithCursor(_ engine: Engine) async throws {
        let t = try await TestQueue(engine)
        _ = try await t.queue.enqueue((0..<25).map { NewJob(kind: $0 % 2 == 0 ? "even" : "odd") })
        var seen: [Int64] = []
        var cursor: Int64?
        repeat {
            let page = try await t.queue.jobs(JobQuery(kind: "even", before: cursor, limit: 5))
            #expect(page.jobs.allSatisfy { $0.kind == "even" })
            seen += page.jobs.map(\.id)
            cursor = page.nextCursor.flatMap(Int64.init)
        } while cursor != nil
        #expect(seen.count == 13)
        #expect(seen == seen.sorted(by: >))
        #expect(try await t.queue.jobs(JobQuery(state: .running)).jobs.isEmpty)
    }

    @Test(arguments: Engine.allCases) func cancelPendingAndRunningButNotFinished(_ engine: Engine) async throws {
        let t = try await TestQueue(engine)
        let ids = try await t.queue.enqueue([NewJob(kind: "a"), NewJob(kind: "b")]).map(\.id)
        #expect(try await t.queue.cancel(id: ids[0]).state == .cancelled)
        let running = try #require(try await t.queue.claim().first)
        #expect(running.id == ids[1])
        #expect(try await t.queue.cancel(id: ids[1]).state == .cancelled)
        // The worker that held it learns it lost the lease and writes nothing.
        #expect(try await t.queue.ack(running, .completed).lostAcks == [running.lease])
        #expect(try await t.queue.state(ids[1]) == .cancelled)
        await #expect(throws: SchedulerError.conflict("job \(ids[0]) is already cancelled")) { try await t.queue.cancel(id: ids[0]) }
        await #expect(throws: SchedulerError.notFound(999)) { try await t.queue.cancel(id: 999) }
    }

    @Test(arguments: Engine.allCases) func retryDiscardedJobRunsAgain(_ engine: Engine) async throws {
        let t = try await TestQueue(engine)
        let id = try await t.queue.enqueue([NewJob(kind: "noop", maxAttempts: 1)])[0].id
        let job = try #require(try await t.queue.claim().first)
        _ = try await t.queue.ack(job, .failed(error: "x", retryAt: nil))
        #expect(try await t.queue.state(id) == .discarded)
        let retried = try await t.queue.retry(id: id)
        #expect(retried.state == .available && retried.maxAttempts == 2 && retried.finalizedAt == nil)
        let again = try #require(try await t.queue.claim().first)
        #expect(again.id == id && again.attempt == 2)
        await #expect(throws: SchedulerError.conflict("job \(id) is running")) { try await t.queue.retry(id: id) }
        await #expect(throws: SchedulerError.notFound(12345)) { try await t.queue.retry(id: 12345) }
    }

    @Test(arguments: Engine.allCases) func retryRefusedWhenAnotherLiveJobHoldsTheKey(_ engine: Engine) async throws {
        let t = try await TestQueue(engine)
        let first = try await t.queue.enqueue([NewJob(kind: "noop", uniqueKey: "u")])[0].id
        _ = try await t.queue.cancel(id: first)
        _ = try await t.queue.enqueue([NewJob(kind: "noop", uniqueKey: "u")])
        await #expect(throws: SchedulerError.self) { try await t.queue.retry(id: first) }
    }

    @Test(arguments: Engine.allCases) func pruneDeletesOnlyFinishedJobsOlderThanCutoff(_ engine: Engine) async throws {
        let clock = ManualWallClock()
        let t = try await TestQueue(engine, clock: clock)
        let ids = try await t.queue.enqueue((0..<4).map { _ in NewJob(kind: "noop") }).map(\.id)
        for job in try await t.queue.claim(2) { _ = try await t.queue.ack(job, .completed) }
        clock.advance(by: .seconds(100))
        let recent = try #require(try await t.queue.claim(1).first)
        _ = try await t.queue.ack(recent, .completed)
        #expect(try await t.queue.prune(finalizedBefore: clock.nowMillis() - 50_000, limit: 100) == 2)
        #expect(try await t.queue.job(id: ids[0]) == nil)
        #expect(try await t.queue.state(ids[2]) == .completed)
        #expect(try await t.queue.state(ids[3]) == .available)
    }

    @Test(arguments: Engine.allCases) func countsGroupByStateAndKind(_ engine: Engine) async throws {
        let t = try await TestQueue(engine)
        _ = try await t.queue.enqueue([NewJob(kind: "a"), NewJob(kind: "a"), NewJob(kind: "b")])
        let counts = try await t.queue.counts()
        #expect(counts.contains(JobCount(state: .available, kind: "a", queue: "default", count: 2)))
        #expect(counts.contains(JobCount(state: .available, kind: "b", queue: "default", count: 1)))
    }
}
