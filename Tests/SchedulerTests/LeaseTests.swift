import Foundation
import Scheduler
import Testing

@Suite struct LeaseTests {
    @Test(arguments: Engine.allCases) func claimTakesABatchInPriorityOrderWithALease(_ engine: Engine) async throws {
        let clock = ManualWallClock()
        let t = try await TestQueue(engine, clock: clock)
        let low = try await t.queue.enqueue([NewJob(kind: "noop", priority: 5)])[0].id
        let high = try await t.queue.enqueue([NewJob(kind: "noop", priority: 0)])[0].id
        _ = try await t.queue.enqueue([NewJob(kind: "noop", queue: "other")])
        let claimed = try await t.queue.claim(1)
        #expect(claimed.map(\.id) == [high])
        let row = try #require(try await t.queue.job(id: high))
        #expect(row.state == .running && row.attempt == 1 && row.leaseOwner == "test-owner")
        #expect(row.leaseExpiresAt == clock.nowMillis() + 30_000)
        #expect(try await t.queue.claim(10).map(\.id) == [low])
    }

    @Test(arguments: Engine.allCases) func twoClaimersNeverGetTheSameJob(_ engine: Engine) async throws {
        let t = try await TestQueue(engine)
        let other = try t.secondQueue()
        _ = try await t.queue.enqueue((0..<500).map { _ in NewJob(kind: "noop") })
        async let a = drain(t.queue, owner: "a")
        async let b = drain(other, owner: "b")
        let (idsA, idsB) = try await (a, b)
        #expect(Set(idsA).isDisjoint(with: Set(idsB)))
        #expect(idsA.count + idsB.count == 500)
    }

    private func drain(_ queue: any QueueDriver, owner: String) async throws -> [Int64] {
        var ids: [Int64] = []
        while true {
            let batch = try await queue.claim(7, owner: owner)
            if batch.isEmpty { return ids }
            ids += batch.map(\.id)
        }
    }

    @Test(arguments: Engine.allCases) func fencedWorkerCannotCompleteFailOrSnoozeAfterTakeover(_ engine: Engine) async throws {
        let clock = ManualWallClock()
        let t = try await TestQueue(engine, clock: clock)
        let id = try await t.queue.enqueue([NewJob(kind: "noop")])[0].id
        let stale = try #require(try await t.queue.claim(ttl: .seconds(5)).first)
        clock.advance(by: .seconds(6))
        #expect(try await t.queue.rescueExpired() == 1)
        let fresh = try #require(try await t.queue.claim(owner: "new-owner").first)
        #expect(fresh.id == id && fresh.attempt == 2 && fresh.leaseToken != stale.leaseToken)
        for outcome: JobAck.Outcome in [.completed, .failed(error: "x", retryAt: nil), .snoozed(until: 0), .cancelled(reason: "x"), .released] {
            let result = try await t.queue.ack(stale, outcome)
            #expect(result.lostAcks == [stale.lease], "outcome \(outcome) must be refused")
        }
        let lost = try await t.queue.fetch(acks: [], heartbeats: [stale.lease], leaseTTL: .seconds(5), claim: nil)
        #expect(lost.lostLeases == [stale.lease])
        let row = try #require(try await t.queue.job(id: id))
        #expect(row.state == .running && row.leaseOwner == "new-owner")
        #expect(try await t.queue.ack(fresh, .completed).lostAcks.isEmpty)
        #expect(try await t.queue.state(id) == .completed)
    }

    @Test(arguments: Engine.allCases) func heartbeatExtendsTheLease(_ engine: Engine) async throws {
        let clock = ManualWallClock()
        let t = try await TestQueue(engine, clock: clock)
        _ = try await t.queue.enqueue([NewJob(kind: "noop")])
        let job = try #require(try await t.queue.claim(ttl: .seconds(5)).first)
        clock.advance(by: .seconds(4))
        _ = try await t.queue.fetch(acks: [], heartbeats: [job.lease], leaseTTL: .seconds(5), claim: nil)
        clock.advance(by: .seconds(4))
        #expect(try await t.queue.rescueExpired() == 0)
        clock.advance(by: .seconds(2))
        #expect(try await t.queue.rescueExpired() == 1)
        let row = try #require(try await t.queue.job(id: job.id))
        #expect(row.state == .retryable)
        #expect(row.errorMessages.contains { $0.contains("lease expired") } == true)
    }

    @Test(arguments: Engine.allCases) func rescueDiscardsWhenOutOfAttempts(_ engine: Engine) async throws {
        let clock = ManualWallClock()
        let t = try await TestQueue(engine, clock: clock)
        let id = try await t.queue.enqueue([NewJob(kind: "noop", maxAttempts: 1)])[0].id
        _ = try await t.queue.claim(ttl: .seconds(1))
        clock.advance(by: .seconds(2))
        #expect(try await t.queue.rescueExpired() == 1)
        #expect(try await t.queue.state(id) == .discarded)
    }

    @Test(arguments: Engine.allCases) func failureRetriesThenDiscardsKeepingBoundedErrors(_ engine: Engine) async throws {
        let clock = ManualWallClock()
        let t = try await TestQueue(engine, clock: clock)
        let id = try await t.queue.enqueue([NewJob(kind: "noop", maxAttempts: 12)])[0].id
        for attempt in 1...12 {
            let job = try #require(try await t.queue.claim().first)
            #expect(job.attempt == attempt)
            let retryAt: Int64? = attempt < 12 ? clock.nowMillis() : nil
            _ = try await t.queue.ack(job, .failed(error: "boom \(attempt)", retryAt: retryAt))
        }
        let row = try #require(try await t.queue.job(id: id))
        #expect(row.state == .discarded && row.finalizedAt != nil)
        #expect(row.errorMessages.count == 10)
        #expect(row.errorMessages.last == "boom 12")
        #expect(row.errorMessages.first == "boom 3")
    }

    @Test(arguments: Engine.allCases) func snoozeIsNotAnAttemptAndCancelIsFinal(_ engine: Engine) async throws {
        let clock = ManualWallClock()
        let t = try await TestQueue(engine, clock: clock)
        let id = try await t.queue.enqueue([NewJob(kind: "noop")])[0].id
        let job = try #require(try await t.queue.claim().first)
        _ = try await t.queue.ack(job, .snoozed(until: clock.nowMillis() + 10_000))
        var row = try #require(try await t.queue.job(id: id))
        #expect(row.state == .scheduled && row.attempt == 0)
        #expect(try await t.queue.claim().isEmpty)
        clock.advance(by: .seconds(10))
        let again = try #require(try await t.queue.claim().first)
        #expect(again.attempt == 1)
        _ = try await t.queue.ack(again, .cancelled(reason: "not needed"))
        row = try #require(try await t.queue.job(id: id))
        #expect(row.state == .cancelled && row.errorMessages.contains { $0.contains("not needed") } == true)
    }

    @Test(arguments: Engine.allCases) func releaseGivesTheJobBackWithoutCountingAnAttempt(_ engine: Engine) async throws {
        let t = try await TestQueue(engine)
        let id = try await t.queue.enqueue([NewJob(kind: "noop")])[0].id
        let job = try #require(try await t.queue.claim().first)
        _ = try await t.queue.ack(job, .released)
        let row = try #require(try await t.queue.job(id: id))
        #expect(row.state == .available && row.attempt == 0)
    }
}
