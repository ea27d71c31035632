import Foundation
import Scheduler
@_spi(Engine) @testable import Store
import Testing
import TestSupport

/// How the record writer puts a batch into each engine: `COPY` on PostgreSQL's first attempt, inserts that skip
/// written request ids on a retry (and always on SQLite).
@Suite struct RecordWriterTests {
    /// `append` (`COPY` text on PostgreSQL, multi-row inserts on SQLite) keeps every value as it was: nulls, the
    /// characters `COPY` escapes (backslash, tab, newline, carriage return), the text `\N`, non-ASCII, extreme
    /// integers, reals and blobs with every byte.
    @Test(arguments: Engine.allCases) func appendKeepsEveryValue(_ engine: Engine) async throws {
        let store = try await TestStore(engine)
        let texts: [String?] = [#"back\slash \N \\N"#, "tab\tnew\nline\r\nend", "NULL", "", nil, "日本語 ✓", #"{"json": [1, null]}"#]
        let numbers: [Int64?] = [0, -1, Int64.max, Int64.min + 2, nil, 42, 7]
        let reals: [Double?] = [0.5, -1e-300, 1e300, nil, 3, 0.1, -0.0]
        let blobs: [Data?] = [Data(0...255), Data(), nil, Data([0x5C, 0x09, 0x0A]), Data([0]), Data("\\x00".utf8), Data([255])]
        let rows = texts.indices.map { index -> [SQLValue] in
            let row: SQLArguments = [Int64(index), texts[index], numbers[index], reals[index], blobs[index]]
            return row.values
        }
        let read = try await store.db.write { db -> [[SQLValue]] in
            let blob = db.engine == .sqlite ? "BLOB" : "BYTEA"
            try db.execute(sql: "CREATE TEMPORARY TABLE appended (n BIGINT, label TEXT, number BIGINT, ratio DOUBLE PRECISION, bytes \(blob))")
            try db.append(into: "appended", columns: ["n", "label", "number", "ratio", "bytes"], rows: rows)
            #expect(db.changesCount == rows.count || db.engine == .sqlite)
            let read = try SQLRow.fetchAll(db, sql: "SELECT n, label, number, ratio, bytes FROM appended ORDER BY n").map(\.values)
            try db.execute(sql: "DROP TABLE appended")
            return read
        }
        #expect(read == rows)
    }

    struct Batch {
        var records: [RequestRecord]
        var payloads: [Payload?]

        /// `count` records of key `key`, every other one billed and every third one with a payload; the first
        /// record's model carries a NUL character.
        init(count: Int, key: Int64, prefix: String = "w") {
            records = (0..<count).map { n in
                var trace = Trace(requestId: "\(prefix)-\(n)", endpoint: "/v1/chat/completions", createdAt: 1000 + Int64(n), expiresAt: 9000)
                trace.userId = 1
                trace.keyId = key
                trace.model = n == 0 ? "gpt\u{0}-nul" : "gpt-4o-mini"
                trace.status = n.isMultiple(of: 2) ? 200 : 502
                trace.error = n.isMultiple(of: 2) ? nil : "upstream said:\r\n\t\\ no"
                let usage = n.isMultiple(of: 2)
                    ? UsageLog(requestId: trace.requestId, userId: 1, keyId: key, channelId: nil, model: trace.model ?? "",
                               promptTokens: 10, completionTokens: 2, cost: 5, createdAt: trace.createdAt)
                    : nil
                return RequestRecord(trace: trace, usage: usage)
            }
            payloads = (0..<count).map { n in
                n.isMultiple(of: 3)
                    ? Payload(traceId: 0, requestSealed: Data([1, 2, UInt8(n % 256)]), responseSealed: nil, requestTruncated: true,
                              responseTruncated: false, bytes: 3, expiresAt: 9000)
                    : nil
            }
        }

        var billed: Int { records.filter { $0.usage != nil }.count }
        var withPayload: Int { payloads.compactMap { $0 }.count }
    }

    struct Counts: Equatable {
        var traces = 0, usage = 0, payloads = 0, used: Int64 = 0
        /// Requests the dashboards' rollups counted, per minute and per hour.
        var minuteRequests: Int64 = 0, hourRequests: Int64 = 0
    }

    static func counts(_ store: TestStore, key: Int64) async throws -> Counts {
        try await store.db.read { db in
            Counts(traces: try Int.fetchOne(db, sql: "SELECT count(*) FROM traces") ?? -1,
                   usage: try Int.fetchOne(db, sql: "SELECT count(*) FROM usage_logs") ?? -1,
                   payloads: try Int.fetchOne(db, sql: "SELECT count(*) FROM payloads") ?? -1,
                   used: try Int64.fetchOne(db, sql: "SELECT used FROM api_keys WHERE id = ?", arguments: [key]) ?? -1,
                   minuteRequests: try Int64.fetchOne(db, sql: "SELECT sum(requests) FROM stat_rollups WHERE span = 'm'") ?? 0,
                   hourRequests: try Int64.fetchOne(db, sql: "SELECT sum(requests) FROM stat_rollups WHERE span = 'h'") ?? 0)
        }
    }

    /// A first attempt writes every trace, billed usage, payload (linked to its trace) and the key's spend; the same
    /// records again, as a retry after a commit that was cut off, add nothing. On PostgreSQL a first-attempt `COPY`
    /// of records already written fails whole (a conflict), leaving what was stored as it was.
    @Test(arguments: Engine.allCases) func aBatchIsWrittenOnceWhateverTheAttempt(_ engine: Engine) async throws {
        let store = try await TestStore(engine)
        try await store.db.write { db in
            try db.execute(sql: "INSERT INTO users (id, name, created_at, updated_at) VALUES (1, 'u', 0, 0)")
        }
        try await store.db.seedBenchKeys(1)
        let key = try #require(try await store.db.read { db in try Int64.fetchOne(db, sql: "SELECT id FROM api_keys") })
        let batch = Batch(count: 1200, key: key)

        try await store.db.write { db in
            try RecordWriter.write(batch.records, batch.payloads, [], autoDisableAfter: 5, mayHaveLanded: false, in: db)
        }
        let expected = Counts(traces: 1200, usage: batch.billed, payloads: batch.withPayload, used: Int64(batch.billed) * 5,
                              minuteRequests: 1200, hourRequests: 1200)
        #expect(try await Self.counts(store, key: key) == expected)

        try await store.db.write { db in
            try RecordWriter.write(batch.records, batch.payloads, [], autoDisableAfter: 5, mayHaveLanded: true, in: db)
        }
        #expect(try await Self.counts(store, key: key) == expected, "a retried batch writes nothing twice")

        if engine == .postgres {
            await #expect(throws: StoreError.self) {
                try await store.db.write { db in
                    try RecordWriter.write(batch.records, batch.payloads, [], autoDisableAfter: 5, mayHaveLanded: false, in: db)
                }
            }
            #expect(try await Self.counts(store, key: key) == expected)
        }

        let stored = try await store.db.read { db in
            try SQLRow.fetchAll(db, sql: """
                SELECT t.request_id, t.model, t.error, t.has_payload, p.request_sealed, p.request_truncated
                FROM traces t LEFT JOIN payloads p ON p.trace_id = t.id WHERE t.request_id IN ('w-0', 'w-3')
                ORDER BY t.request_id
                """)
        }
        #expect(try stored.map { row -> String in try row["model"] } == ["gpt\u{FFFD}-nul", "gpt-4o-mini"],
                "a NUL, which PostgreSQL's text cannot hold, is stored as U+FFFD on both engines")
        #expect(try stored[1]["error"] as String? == "upstream said:\r\n\t\\ no")
        #expect(try stored.map { row -> Int64 in try row["has_payload"] } == [1, 1])
        #expect(try stored.map { row -> Data? in try row["request_sealed"] } == [Data([1, 2, 0]), Data([1, 2, 3])],
                "each payload is linked to its own trace")
        #expect(try stored[0]["request_truncated"] as Int64 == 1)
        let usageModel = try await store.db.read { db in
            try String.fetchOne(db, sql: "SELECT model FROM usage_logs WHERE request_id = 'w-0'")
        }
        #expect(usageModel == "gpt\u{FFFD}-nul")

        // The writer itself: records submitted, flushed, on either engine.
        let writer = RecordWriter(db: store.db, logger: testLogger)
        for record in Batch(count: 10, key: key, prefix: "x").records { writer.submit(record) }
        try await writer.flush()
        #expect(try await Self.counts(store, key: key).traces == 1210)
    }
}
