import Logging
import PostgresNIO

/// One numbered, append-only schema change of the PostgreSQL engine.
public struct PostgresMigration: Sendable {
    /// Its name in `schema_migrations`, e.g. `scheduler-001-jobs` (the same names as the SQLite migrations).
    public let identifier: String
    let apply: @Sendable (PostgresConnection, Logger) async throws -> Void

    /// A migration that runs `apply` inside the migration's transaction.
    public init(_ identifier: String, apply: @escaping @Sendable (PostgresConnection, Logger) async throws -> Void) {
        self.identifier = identifier
        self.apply = apply
    }

    /// A migration made of SQL statements, run in order (the extended protocol takes one statement at a time).
    public init(_ identifier: String, statements: [String]) {
        self.init(identifier) { connection, logger in
            for statement in statements {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
        }
    }
}

/// Applies the registered migrations once, in order, each in its own transaction, recording each in
/// `schema_migrations`. Any number of processes may migrate at once: the whole run holds a session-level
/// `pg_advisory_lock`, so the others wait, then find the migrations applied and apply nothing.
public struct PostgresMigrator: Sendable {
    /// The advisory lock key every Switchyard migrator takes ("swydmigr" in ASCII). A constant, so processes of
    /// any version exclude each other; other applications sharing the database are unlikely to pick it.
    public static let lockKey: Int64 = 0x7377_7964_6D69_6772

    public private(set) var migrations: [PostgresMigration] = []

    public init() {}

    /// Appends a migration; identifiers must be unique.
    public mutating func register(_ migration: PostgresMigration) {
        precondition(!migrations.contains { $0.identifier == migration.identifier },
                     "migration \(migration.identifier) registered twice")
        migrations.append(migration)
    }

    /// Applies the migrations not yet recorded and returns their identifiers (empty when the schema is current).
    @discardableResult
    public func migrate(_ client: PostgresClient, logger: Logger) async throws -> [String] {
        try await client.withConnection { connection in
            try await Self.locked(connection, logger: logger) {
                try await connection.query("""
                    CREATE TABLE IF NOT EXISTS schema_migrations (
                        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- the order they were applied in
                        version TEXT NOT NULL UNIQUE,
                        applied_at BIGINT NOT NULL                           -- UTC ms
                    )
                    """, logger: logger)
                let applied = Set(try await Self.appliedVersions(connection, logger: logger))
                var newlyApplied: [String] = []
                for migration in migrations where !applied.contains(migration.identifier) {
                    do {
                        try await connection.withTransaction(logger: logger) { connection in
                            try await migration.apply(connection, logger)
                            try await connection.query("""
                                INSERT INTO schema_migrations (version, applied_at)
                                VALUES (\(migration.identifier), (extract(epoch FROM clock_timestamp()) * 1000)::bigint)
                                """, logger: logger)
                        }
                    } catch {
                        throw SchedulerError.database(
                            "migration \(migration.identifier) failed: \(PostgresErrorText.describe(error))")
                    }
                    logger.info("applied migration", metadata: ["migration": "\(migration.identifier)"])
                    newlyApplied.append(migration.identifier)
                }
                return newlyApplied
            }
        }
    }

    /// The versions recorded in `schema_migrations`, oldest first; empty for a database never migrated.
    public static func appliedVersions(_ client: PostgresClient, logger: Logger) async throws -> [String] {
        try await client.withConnection { connection in
            let exists = try await connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL", logger: logger)
            for try await present in exists.decode(Bool.self) where !present { return [] }
            return try await appliedVersions(connection, logger: logger)
        }
    }

    private static func appliedVersions(_ connection: PostgresConnection, logger: Logger) async throws -> [String] {
        let rows = try await connection.query(
            "SELECT version FROM schema_migrations ORDER BY id", logger: logger)
        var versions: [String] = []
        for try await version in rows.decode(String.self) { versions.append(version) }
        return versions
    }

    /// Runs `body` holding the migration lock on `connection`, and releases it whether `body` succeeds or throws.
    /// Were the connection lost instead, the server ends its session and the lock with it.
    private static func locked<T: Sendable>(_ connection: PostgresConnection, logger: Logger,
                                            _ body: () async throws -> T) async throws -> T {
        try await connection.query("SELECT pg_advisory_lock(\(lockKey))", logger: logger)
        let result: Result<T, any Error>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        try await connection.query("SELECT pg_advisory_unlock(\(lockKey))", logger: logger)
        return try result.get()
    }
}
