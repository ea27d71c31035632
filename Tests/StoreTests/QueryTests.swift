import Foundation
import GRDB
import Scheduler
@_spi(Engine) @testable import Store
import Testing
import TestSupport

/// The store's methods on a real SQLite file: what each query selects, and the guards the writes keep (in use,
/// taken names, an operator's change kept) — the contract a second engine implements.
@Suite struct QueryTests {
    struct TempStore {
        let store: TestStore
        var db: AppDatabase { store.db }
        var queue: StoreQueue { store.queue }

        init(_ engine: Engine) async throws { store = try await TestStore(engine) }

        func channel(_ name: String, status: RelayChannel.Status = .enabled) async throws -> RelayChannel {
            try await db.createChannel(RelayChannel(
                name: name, type: .openai, baseURL: "http://127.0.0.1:9", apiKeySealed: Data([1]), keyFingerprint: "sk-…\(name)",
                models: ["gpt-4o-mini"], modelMapping: [:], priority: 0, weight: 1, status: status, now: 1))
        }

        func node(_ name: String) async throws -> ExitNode {
            try await db.createNode(ExitNode(name: name, host: "127.0.0.2", expectedIP: "127.0.0.2",
                                             relayURL: "http://127.0.0.2:8", relayKeySealed: Data([2]), relayKeyFingerprint: "rk", now: 1))
        }

        func jobCount() async throws -> Int {
            try await db.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM jobs") ?? -1 }
        }
    }

    /// Multi-row inserts (`VALUES` on SQLite, arrays through `unnest` on PostgreSQL) keep every value as it was:
    /// nulls, quotes, backslashes, braces, commas, the word NULL as text, non-ASCII and extreme integers.
    @Test(arguments: Engine.allCases) func multiRowInsertsKeepEveryValue(_ engine: Engine) async throws {
        let t = try await TempStore(engine)
        let texts: [String?] = [#"a "quoted" \back\slash"#, "{braces},commas", "NULL", "", nil, "日本語 ✓ \n\t", " lead and trail "]
        let numbers: [Int64?] = [0, -1, Int64.max, Int64.min + 2, nil, 42, 7]
        let rows = zip(texts, numbers).map { text, number -> [SQLValue] in
            let row: SQLArguments = [text, number]
            return row.values
        }
        let read = try await t.db.write { db -> [[SQLValue]] in
            try db.execute(sql: "CREATE TEMPORARY TABLE multi_row (n BIGINT, label TEXT, number BIGINT)")
            let insert = db.engine.rows(rows.enumerated().map { [SQLValue.integer(Int64($0.offset))] + $0.element },
                                        types: ["int8", "text", "int8"])
            try db.execute(sql: "INSERT INTO multi_row (n, label, number) \(insert.sql)", arguments: insert.arguments)
            let read = try SQLRow.fetchAll(db, sql: "SELECT label, number FROM multi_row ORDER BY n").map { row in
                [try row[0] as SQLValue, try row[1] as SQLValue]
            }
            try db.execute(sql: "DROP TABLE multi_row")
            return read
        }
        #expect(read == rows)
    }

    /// Failures counted in the database add up across processes: a channel is auto-disabled when the requests in a row
    /// that failed reach the threshold, whichever processes served them; a success anywhere starts again; a process
    /// that saw the threshold itself disables at once; an operator's disable is kept.
    @Test(arguments: Engine.allCases) func channelFailuresAddUpAcrossProcesses(_ engine: Engine) async throws {
        let t = try await TempStore(engine)
        let id = try await t.channel("shared").id!
        func batch(_ changes: ChannelHealthChange...) async throws -> RelayChannel {
            try await t.db.write { db in try RecordWriter.writeHealth(changes, autoDisableAfter: 4, in: db) }
            return try #require(try await t.db.channel(id))
        }
        var channel = try await batch(ChannelHealthChange(channelId: id, failures: 2, reason: "503"))  // gateway A
        #expect(channel.failureStreak == 2 && channel.status == .enabled)
        channel = try await batch(ChannelHealthChange(channelId: id, failures: 1, reason: "timeout"))  // gateway B
        #expect(channel.failureStreak == 3 && channel.status == .enabled)
        channel = try await batch(ChannelHealthChange(channelId: id, reset: true))  // a success through A
        #expect(channel.failureStreak == 0)
        channel = try await batch(ChannelHealthChange(channelId: id, failures: 3, reason: "503"))
        channel = try await batch(ChannelHealthChange(channelId: id, failures: 1, reason: "connection refused"))
        #expect(channel.status == .autoDisabled && channel.failureStreak == 4)
        #expect(channel.statusReason == "4 consecutive failures, last: connection refused")

        // A batch that saw a success before its failures counts only those.
        let other = try await t.channel("other").id!
        try await t.db.write { db in
            try RecordWriter.writeHealth([ChannelHealthChange(channelId: other, failures: 3, reason: "x")], autoDisableAfter: 4, in: db)
            try RecordWriter.writeHealth([ChannelHealthChange(channelId: other, failures: 3, reason: "x")
                .then(ChannelHealthChange(channelId: other, reset: true)).then(ChannelHealthChange(channelId: other, failures: 1, reason: "y"))],
                                         autoDisableAfter: 4, in: db)
        }
        #expect(try await t.db.channel(other)?.failureStreak == 1)

        // One process's own threshold disables at once; an operator's disable is never overwritten.
        let local = try await t.channel("local").id!
        try await t.db.write { db in
            try RecordWriter.writeHealth([ChannelHealthChange(channelId: local, failures: 1, autoDisable: true, reason: "z")], autoDisableAfter: 4, in: db)
        }
        #expect(try await t.db.channel(local)?.status == .autoDisabled)
        let off = try await t.channel("off", status: .disabled).id!
        try await t.db.write { db in
            try RecordWriter.writeHealth([ChannelHealthChange(channelId: off, failures: 9, autoDisable: true, reason: "z")], autoDisableAfter: 4, in: db)
        }
        let kept = try #require(try await t.db.channel(off))
        #expect(kept.status == .disabled && kept.statusReason != "9 consecutive failures, last: z")
    }

    @Test(arguments: Engine.allCases) func traceFiltersSelectWhatTheyName(_ engine: Engine) async throws {
        let t = try await TempStore(engine)
        func trace(_ id: String, user: Int64?, model: String, stream: Bool, tokens: Int64, at: Int64) -> Trace {
            var trace = Trace(requestId: id, endpoint: "/v1/chat/completions", createdAt: at, expiresAt: at + 1000)
            trace.userId = user
            trace.keyId = user
            trace.model = model
            trace.stream = stream
            trace.status = 200
            trace.promptTokens = tokens
            return trace
        }
        for row in [trace("a", user: 1, model: "gpt-4o", stream: false, tokens: 10, at: 100),
                    trace("b", user: 2, model: "gpt-4o-mini", stream: true, tokens: 5, at: 200),
                    trace("c", user: nil, model: "gpt-4o-mini", stream: true, tokens: 0, at: 300),
                    trace("d", user: 1, model: "gpt-4o-mini", stream: false, tokens: 0, at: 400)] {
            _ = try await t.db.inserted(row)
        }
        func ids(_ change: (inout TraceFilter) -> Void) async throws -> [String] {
            var filter = TraceFilter()
            change(&filter)
            return try await t.db.traces(filter, Page(before: nil, limit: 50)).map(\.requestId)
        }
        #expect(try await ids { _ in } == ["d", "c", "b", "a"], "newest first")
        #expect(try await ids { $0.model = "gpt-4o" } == ["a"])
        #expect(try await ids { $0.stream = true } == ["c", "b"])
        #expect(try await ids { $0.keyId = 1 } == ["d", "a"])
        #expect(try await ids { $0.billed = true } == ["b", "a"], "a user's request with tokens")
        #expect(try await ids { $0.billed = false } == ["d", "c"])
        #expect(try await ids { $0.since = 200; $0.until = 400 } == ["c", "b"], "[since, until)")
        let first = try await t.db.traces(TraceFilter(), Page(before: nil, limit: 2))
        #expect(first.map(\.requestId) == ["d", "c", "b"], "limit + 1 rows tell the caller a next page exists")
        #expect(try await t.db.traces(TraceFilter(), Page(before: first[1].id, limit: 50)).map(\.requestId) == ["b", "a"])
    }

    @Test(arguments: Engine.allCases) func usageIsSummedPerUserModelAndDayNewestFirst(_ engine: Engine) async throws {
        let t = try await TempStore(engine)
        let day: Int64 = 86_400_000
        let logs = [(1, "gpt-4o", 0), (1, "gpt-4o", 0), (2, "gpt-4o", 0), (1, "gpt-4o", day), (1, "gpt-4o-mini", day)]
        for (index, (user, model, at)) in logs.enumerated() {
            _ = try await t.db.inserted(UsageLog(requestId: "r\(index)", userId: Int64(user), keyId: 1, channelId: nil, model: model,
                                                 promptTokens: 10, completionTokens: 2, cost: 100, createdAt: at + 1))
        }
        let all = try await t.db.usageByDay(userId: nil, since: nil, until: nil)
        #expect(all.map { "\($0.day) \($0.userId) \($0.model) \($0.requests)" } == [
            "1970-01-02 1 gpt-4o 1", "1970-01-02 1 gpt-4o-mini 1", "1970-01-01 1 gpt-4o 2", "1970-01-01 2 gpt-4o 1"])
        #expect(all[2].promptTokens == 20 && all[2].completionTokens == 4 && all[2].cost == 200)
        #expect(try await t.db.usageByDay(userId: 2, since: nil, until: nil).map(\.requests) == [1])
        #expect(try await t.db.usageByDay(userId: nil, since: day, until: nil).count == 2)
    }

    @Test(arguments: Engine.allCases) func aPayloadIsReadOnlyWithAnAuditRow(_ engine: Engine) async throws {
        let t = try await TempStore(engine)
        let trace = try await t.db.inserted(Trace(requestId: "p", endpoint: "/v1/chat/completions", createdAt: 1, expiresAt: 2))
        func audits() async throws -> Int {
            try await t.db.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM payload_audit") ?? -1 }
        }
        #expect(try await t.db.auditedPayload(traceId: trace.id!, actor: "admin", reason: "support ticket", at: 5) == nil)
        #expect(try await audits() == 0, "no payload, nothing read, no audit row")
        try await t.db.write { db in
            try Payload(traceId: trace.id!, requestSealed: Data([9]), responseSealed: nil, requestTruncated: false,
                        responseTruncated: false, bytes: 1, expiresAt: 2).insert(db)
        }
        let payload = try await t.db.auditedPayload(traceId: trace.id!, actor: "admin", reason: "support ticket", at: 5)
        #expect(payload?.requestSealed == Data([9]))
        let row = try #require(try await t.db.read { db in
            try SQLRow.fetchOne(db, sql: "SELECT trace_id, actor, reason, at FROM payload_audit")
        })
        let (traceId, actor, reason, at): (Int64, String, String, Int64) = (try row["trace_id"], try row["actor"], try row["reason"], try row["at"])
        #expect(traceId == trace.id! && actor == "admin" && reason == "support ticket" && at == 5)
    }

    @Test(arguments: Engine.allCases) func aChannelAnUnfinishedReconcileRunHoldsIsNotDeleted(_ engine: Engine) async throws {
        let t = try await TempStore(engine)
        let held = try await t.channel("held")
        let reconciles = ReconcileRepository(db: t.db, queue: t.queue)
        let run = try await reconciles.create(dryRun: true)
        _ = try await reconciles.begin(run.id, jobId: 1)
        let free = try await t.channel("free")   // created after the run began: not part of it
        await #expect { try await t.db.deleteChannel(held.id!) } throws: { error in
            (error as? StoreError)?.code == .inUse && "\(error)".contains(run.id)
        }
        #expect(try await t.db.channel(held.id!) != nil, "still there")
        #expect(try await t.db.deleteChannel(free.id!))
        #expect(try await !t.db.deleteChannel(free.id!), "already gone")
        try await reconciles.finish(run.id, artifactPath: nil)
        #expect(try await t.db.deleteChannel(held.id!), "free once the run finished")
    }

    @Test(arguments: Engine.allCases) func aNodeNameIsTakenOnce(_ engine: Engine) async throws {
        let t = try await TempStore(engine)
        _ = try await t.node("exit-1")
        await #expect { try await t.node("exit-1") } throws: { error in
            (error as? StoreError)?.code == .conflict && "\(error)" == "a node named exit-1 exists"
        }
    }

    @Test(arguments: Engine.allCases) func theHealthProbeKeepsAnOperatorsChanges(_ engine: Engine) async throws {
        let t = try await TempStore(engine)
        let node = try await t.node("exit-1")
        var probed = node
        probed.status = .healthy
        probed.healthFailures = 0
        probed.dnsAddresses = ["127.0.0.2"]
        try await t.db.recordProbe(of: node, as: probed, at: 10)
        #expect(try await t.db.node(node.id!)?.status == .healthy)
        // An operator points the node elsewhere while a probe of the old address is out: its result is dropped.
        var moved = try #require(try await t.db.node(node.id!))
        moved.relayURL = "http://127.0.0.3:8"
        try await t.db.updateNode(moved)
        var stale = probed
        stale.status = .unhealthy
        try await t.db.recordProbe(of: node, as: stale, at: 20)
        let now = try #require(try await t.db.node(node.id!))
        #expect(now.status == .healthy && now.relayURL == "http://127.0.0.3:8")

        let disabled = try await t.channel("auto", status: .autoDisabled)
        let operatorOff = try await t.channel("off", status: .disabled)
        #expect(try await t.db.autoDisabledChannelsToRecheck().map(\.id) == [disabled.id])
        #expect(try await t.db.reEnable(channelId: disabled.id!, at: 30))
        #expect(try await !t.db.reEnable(channelId: operatorOff.id!, at: 30), "an operator's disable is never undone")
        #expect(try await t.db.channel(operatorOff.id!)?.status == .disabled)
        #expect(try await t.db.channel(disabled.id!)?.status == .enabled)
    }

    @Test(arguments: Engine.allCases) func routingMarksMoveWithEveryChangeARouteDependsOn(_ engine: Engine) async throws {
        let t = try await TempStore(engine)
        var marks = try await t.db.routingMarks()
        func moved() async throws -> Bool {
            let now = try await t.db.routingMarks()
            defer { marks = now }
            return now != marks
        }
        #expect(try await !moved())
        var channel = try await t.channel("c")
        #expect(try await moved(), "a channel added")
        channel.priority = 5
        channel.updatedAt = 2
        try await t.db.updateChannel(channel)
        #expect(try await moved(), "a channel edited")
        let user = try await t.db.createUser(User(name: "u", quota: nil, now: 1))
        #expect(try await moved(), "a user added")
        _ = try await t.db.createKey(APIKey(userId: user.id!, name: "k", keyHash: "h", fingerprint: "f", models: nil, quota: nil, now: 1))
        #expect(try await moved(), "a key added")
        try await t.db.savePrice(ModelPrice(name: "gpt-4o-mini", inputPrice: 1, outputPrice: 2, updatedAt: 3))
        #expect(try await moved(), "a price set")
        let node = try await t.node("n")
        #expect(try await moved(), "a node added")
        try await t.db.recordProbe(of: node, as: node, at: 99)
        #expect(try await moved(), "a node probed")
        #expect(try await !moved())
        let rows = try await t.db.routingRows()
        let counts: [Int] = [rows.channels.count, rows.users.count, rows.keys.count, rows.prices.count, rows.nodes.count]
        #expect(counts == [1, 1, 1, 1, 1])
        #expect(rows.marks == marks)
        #expect(try await t.db.channels(updatedSince: 2).channels.map(\.id) == [channel.id])
        #expect(try await t.db.channels(updatedSince: 3).channels.isEmpty)
    }

    @Test(arguments: Engine.allCases) func aRefusedImportLeavesNeitherRowsNorJobs(_ engine: Engine) async throws {
        let t = try await TempStore(engine)
        let imports = ImportRepository(db: t.db, queue: t.queue)
        func run(_ digest: String) -> (ImportRun, [ImportItem]) {
            let id = ImportRun.newID()
            let items = (0..<3).map {
                ImportItem(runId: id, index: $0, baseURL: "http://127.0.0.1:9", apiKeySealed: Data([3]), keyFingerprint: "f\($0)",
                           provider: nil, requestedModels: nil, smokeModel: nil, name: nil, now: 1)
            }
            return (ImportRun(id: id, options: ImportOptions(), idempotencyKey: "same-key", requestDigest: digest, total: 3,
                              search: "", now: 1), items)
        }
        let (first, items) = run("digest-1")
        #expect(try await imports.create(first, items: items).created)
        #expect(try await t.jobCount() == 3, "one import.item job per item, committed with the run")
        let jobs = try await t.queue.jobs(JobQuery(kind: ImportJobs.item.name, limit: 10)).jobs
        #expect(Set(jobs.map(\.uniqueKey)) == Set((0..<3).map { Optional("import.item:\(first.id):\($0)") }))
        #expect(jobs.allSatisfy { $0.queue == ImportJobs.queue })
        let (replayed, _) = try await imports.create(run("digest-1").0, items: run("digest-1").1)
        #expect(replayed.id == first.id, "the same key and request: the first run")
        let (other, otherItems) = run("digest-2")
        await #expect(throws: StoreError.self) { try await imports.create(other, items: otherItems) }
        #expect(try await t.jobCount() == 3, "the refused request enqueued nothing")
        #expect(try await imports.run(other.id) == nil)
    }

    /// The queue's statements inside a store transaction fail as the store's own do (a StoreError with PostgreSQL's
    /// message and SQLSTATE, a serialization failure retried), never as PostgresNIO's raw "Generic description".
    @Test func queueErrorsInsideAStoreTransactionAreTheStoresOwn() async throws {
        let t = try await TestStore(.postgres)
        let refusal = await #expect(throws: StoreError.self) {
            try await t.db.write { db in
                _ = try? db.execute(sql: "SELECT 1 / 0")
                _ = try t.queue.enqueue([NewJob(kind: "noop")], in: db)
            }
        }
        #expect(refusal?.message.contains("SQLSTATE 25P02") == true, "\(String(describing: refusal))")
    }
}
