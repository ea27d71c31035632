import Foundation
import GRDB
import PostgresNIO
import Scheduler
import Testing

@Suite struct EnqueueTests {
    @Test(arguments: Engine.allCases) func enqueueOneIsAvailableWithDefaults(_ engine: Engine) async throws {
        let t = try await TestQueue(engine)
        let result = try await t.queue.enqueue([NewJob(kind: "noop")])
        #expect(result.count == 1 && !result[0].duplicate)
        let job = try #require(try await t.queue.job(id: result[0].id))
        #expect(job.state == .available)
        #expect(job.kind == "noop" && job.queue == "default" && job.attempt == 0 && job.maxAttempts == 20)
    }

    @Test(arguments: Engine.allCases) func enqueueManyReturnsIdsInOrder(_ engine: Engine) async throws {
        let t = try await TestQueue(engine)
        let jobs = (0..<1000).map { NewJob(kind: "noop", args: "{\"i\":\($0)}") }
        let results = try await t.queue.enqueue(jobs)
        #expect(results.count == 1000)
        for (index, result) in results.enumerated() {
            let job = try #require(try await t.queue.job(id: result.id))
            #expect(job.args == .object(["i": .number(Double(index))]))
        }
    }

    @Test(arguments: Engine.allCases) func futureRunAtIsScheduledAndNotClaimed(_ engine: Engine) async throws {
        let clock = ManualWallClock()
        let t = try await TestQueue(engine, clock: clock)
        let id = try await t.queue.enqueue([NewJob(kind: "noop", runAt: clock.nowMillis() + 60_000)])[0].id
        #expect(try await t.queue.state(id) == .scheduled)
        #expect(try await t.queue.claim().isEmpty)
        clock.advance(by: .seconds(61))
        #expect(try await t.queue.claim().map(\.id) == [id])
    }

    @Test(arguments: Engine.allCases) func uniqueKeyRefusesSecondLiveJobButNotAfterCompletion(_ engine: Engine) async throws {
        let t = try await TestQueue(engine)
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

    @Test(arguments: Engine.allCases) func malformedArgsAreRefusedAndNothingIsStored(_ engine: Engine) async throws {
        let t = try await TestQueue(engine)
        await #expect(throws: SchedulerError.invalidJob("args must be valid JSON")) {
            try await t.queue.enqueue([NewJob(kind: "noop"), NewJob(kind: "noop", args: "{not json")])
        }
        #expect(try await t.queue.jobs(JobQuery()).jobs.isEmpty)
    }

    @Test(arguments: Engine.allCases) func invalidFieldsAreRefused(_ engine: Engine) async throws {
        let t = try await TestQueue(engine)
        await #expect(throws: SchedulerError.self) { try await t.queue.enqueue([NewJob(kind: "")]) }
        await #expect(throws: SchedulerError.self) { try await t.queue.enqueue([NewJob(kind: "noop", maxAttempts: 0)]) }
    }

    @Test(arguments: Engine.allCases) func enqueueInsideCallerTransactionRollsBackWithIt(_ engine: Engine) async throws {
        let t = try await TestQueue(engine)
        let business = BusinessTable(t)
        try await business.create()
        struct Boom: Error {}
        await #expect(throws: Boom.self) { try await business.insertAndEnqueue(then: Boom()) }
        #expect(try await t.queue.jobs(JobQuery()).jobs.isEmpty)
        #expect(try await business.count() == 0)
        try await business.insertAndEnqueue(then: nil)
        #expect(try await t.queue.jobs(JobQuery()).jobs.count == 1)
        #expect(try await business.count() == 1)
    }

    /// A big enqueue is one statement per 10,000 jobs and one notification per queue, not one per job.
    @Test func postgresBulkEnqueueSendsOneNotificationPerQueue() async throws {
        let t = try await TestQueue(.postgres)
        let client = t.postgres.client
        let received = try await client.withConnection { connection in
            try await connection.listen(on: PostgresQueue.channel) { notifications in
                _ = try await t.queue.enqueue((0..<25_000).map { NewJob(kind: "noop", queue: $0 % 2 == 0 ? "even" : "odd") })
                // A marker sent after the commit: everything the enqueue sent has arrived before it.
                try await client.query("SELECT pg_notify(\(PostgresQueue.channel), 'marker')")
                var payloads: [String] = []
                for try await notification in notifications {
                    if notification.payload == "marker" { break }
                    payloads.append(notification.payload)
                }
                return payloads
            }
        }
        #expect(received.sorted() == ["even", "odd"])
        #expect(try await t.queue.counts().reduce(0) { $0 + $1.count } == 25_000)
    }
}

/// A business table written in the same transaction as an enqueue, on either engine.
struct BusinessTable {
    let t: TestQueue

    init(_ t: TestQueue) { self.t = t }

    func create() async throws {
        switch t.engine {
        case .sqlite: try await t.sqlite.write { db in try db.execute(sql: "CREATE TABLE business (x INTEGER)") }
        case .postgres: try await t.postgres.client.query("CREATE TABLE business (x INTEGER)")
        }
    }

    /// Inserts a row and enqueues a job in one transaction, then throws `error` (rolling both back) if given.
    func insertAndEnqueue(then error: (any Error & Sendable)?) async throws {
        let queue = t.queue
        switch t.engine {
        case .sqlite:
            try await t.sqlite.write { db in
                try db.execute(sql: "INSERT INTO business VALUES (1)")
                _ = try (queue as! SQLiteQueue).enqueue([NewJob(kind: "noop")], in: db)
                if let error { throw error }
            }
        case .postgres:
            try await t.postgres.client.inTransaction(logger: testLogger) { connection in
                try await connection.query("INSERT INTO business VALUES (1)")
                _ = try await (queue as! PostgresQueue).enqueue([NewJob(kind: "noop")], in: connection)
                if let error { throw error }
            }
        }
    }

    func count() async throws -> Int {
        switch t.engine {
        case .sqlite:
            return try await t.sqlite.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM business") ?? 0 }
        case .postgres:
            for try await count in try await t.postgres.client.query("SELECT count(*)::int8 FROM business").decode(Int64.self) {
                return Int(count)
            }
            return 0
        }
    }
}
