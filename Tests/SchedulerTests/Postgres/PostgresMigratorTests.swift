import Logging
import PostgresNIO
import Scheduler
import TestSupport
import Testing

/// The migrator on a private PostgreSQL cluster (`PostgresServer`); each test takes a fresh database. The time limit
/// turns a hang into a failure: the ten-migrator test once hung inside the full parallel suite (cause not found yet).
@Suite(.timeLimit(.minutes(2))) struct PostgresMigratorTests {
    let logger = Logger(label: "test.migrator")

    /// The queue's schema plus migrations that log each application, slowly enough for racing migrators to overlap.
    static func migrator() -> PostgresMigrator {
        var migrator = PostgresMigrator()
        PostgresQueueSchema.register(in: &migrator)
        migrator.register(PostgresMigration("test-001-log", statements: [
            "CREATE TABLE migration_log (version TEXT NOT NULL, pid INTEGER NOT NULL)",
            "INSERT INTO migration_log VALUES ('test-001-log', pg_backend_pid())",
        ]))
        for n in 2...4 {
            migrator.register(PostgresMigration("test-00\(n)-step", statements: [
                "SELECT pg_sleep(0.05)",
                "INSERT INTO migration_log VALUES ('test-00\(n)-step', pg_backend_pid())",
            ]))
        }
        return migrator
    }

    @Test func tenMigratorsAtOnceApplyEachMigrationExactlyOnce() async throws {
        let url = try await PostgresServer.freshDatabase()
        let migrator = Self.migrator()
        let logger = logger
        // Ten clients of their own, as ten processes starting together would have.
        let applied = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<10 {
                group.addTask {
                    try await withPostgresClient(url, maximumConnections: 1) { client in
                        try await migrator.migrate(client, logger: logger)
                    }
                }
            }
            var all: [[String]] = []
            for try await one in group { all.append(one) }
            return all
        }
        let identifiers = migrator.migrations.map(\.identifier)
        #expect(applied.flatMap { $0 }.sorted() == identifiers.sorted())
        #expect(applied.filter { !$0.isEmpty }.count == 1, "one migrator applied everything, the others found it done")

        try await withPostgresClient(url) { client in
            let result1 = try await PostgresMigrator.appliedVersions(client, logger: logger)
            #expect(result1 == identifiers)
            let rows = try await client.query("SELECT version, count(*)::int FROM migration_log GROUP BY version ORDER BY version")
            var logged: [String: Int] = [:]
            for try await (version, count) in rows.decode((String, Int).self) { logged[version] = count }
            #expect(logged == ["test-001-log": 1, "test-002-step": 1, "test-003-step": 1, "test-004-step": 1])
            // Nobody still holds the migration lock (in this database: other tests migrate theirs meanwhile).
            let held = try await client.query("""
                SELECT count(*)::int FROM pg_locks WHERE locktype = 'advisory'
                  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                """)
            for try await count in held.decode(Int.self) { #expect(count == 0) }
        }
    }

    @Test func aSecondRunAppliesOnlyWhatIsNew() async throws {
        let url = try await PostgresServer.freshDatabase()
        let logger = logger
        try await withPostgresClient(url) { client in
            let result2 = try await PostgresMigrator.appliedVersions(client, logger: logger)
            #expect(result2.isEmpty)
            var migrator = PostgresMigrator()
            PostgresQueueSchema.register(in: &migrator)
            let result3 = try await migrator.migrate(client, logger: logger)
            #expect(result3 == ["scheduler-001-jobs"])
            let result4 = try await migrator.migrate(client, logger: logger)
            #expect(result4.isEmpty)
            migrator.register(PostgresMigration("test-002-extra", statements: ["CREATE TABLE extra (id INTEGER)"]))
            let result5 = try await migrator.migrate(client, logger: logger)
            #expect(result5 == ["test-002-extra"])
            let result6 = try await PostgresMigrator.appliedVersions(client, logger: logger)
            #expect(result6 == ["scheduler-001-jobs", "test-002-extra"])
        }
    }

    @Test func aFailingMigrationIsNamedRolledBackAndReleasesTheLock() async throws {
        let url = try await PostgresServer.freshDatabase()
        let logger = logger
        try await withPostgresClient(url) { client in
            var migrator = PostgresMigrator()
            migrator.register(PostgresMigration("test-001-ok", statements: ["CREATE TABLE ok (id INTEGER)"]))
            migrator.register(PostgresMigration("test-002-bad", statements: [
                "CREATE TABLE half (id INTEGER)",
                "CREATE TABLE ok (id INTEGER)",
            ]))
            await #expect {
                try await migrator.migrate(client, logger: logger)
            } throws: { error in
                let text = "\(error)"
                return text.contains("test-002-bad") && text.contains("already exists")
            }
            let result7 = try await PostgresMigrator.appliedVersions(client, logger: logger)
            #expect(result7 == ["test-001-ok"])
            let half = try await client.query("SELECT to_regclass('half') IS NULL")
            for try await gone in half.decode(Bool.self) { #expect(gone, "the failed migration's first statement was rolled back") }
            // The lock was released: another migrator can run at once.
            var fixed = PostgresMigrator()
            fixed.register(PostgresMigration("test-001-ok", statements: ["CREATE TABLE ok (id INTEGER)"]))
            fixed.register(PostgresMigration("test-002-good", statements: ["CREATE TABLE good (id INTEGER)"]))
            let result8 = try await fixed.migrate(client, logger: logger)
            #expect(result8 == ["test-002-good"])
        }
    }

    /// The queue schema holds what the queue relies on: one live job per unique key, any number of final ones.
    @Test func queueSchemaKeepsUniqueKeysUniqueAmongLiveJobs() async throws {
        let url = try await PostgresServer.freshDatabase()
        let logger = logger
        try await withPostgresClient(url) { client in
            var migrator = PostgresMigrator()
            PostgresQueueSchema.register(in: &migrator)
            try await migrator.migrate(client, logger: logger)
            func insert(_ state: String) async throws {
                try await client.query("""
                    INSERT INTO jobs (kind, queue, args, state, priority, max_attempts, run_at, unique_key, created_at)
                    VALUES ('k', 'default', '{"a":1}', \(state), 0, 3, 0, 'slot-1', 0)
                    """)
            }
            try await insert("completed")
            try await insert("cancelled")
            try await insert("available")
            for state in ["available", "scheduled", "running", "retryable"] {
                await #expect(throws: (any Error).self, "a second live job (\(state)) with the key") { try await insert(state) }
            }
            try await insert("discarded")
            await #expect(throws: (any Error).self, "an unknown state") { try await insert("paused") }
            let schedules = try await client.query("""
                INSERT INTO schedules (name, kind, queue, args, interval_ms, updated_at)
                VALUES ('s', 'k', 'default', '{}', 1000, 0) RETURNING enabled
                """)
            for try await enabled in schedules.decode(Bool.self) { #expect(enabled) }
        }
    }
}
