import Foundation
import GRDB
import Scheduler

/// Which schema versions a database holds, and which this build would still apply (`switchyard db status`).
public struct MigrationStatus: Sendable, Codable, Equatable {
    /// `sqlite` or `postgresql`.
    public var engine: String
    /// The engine's version (the SQLite library's, or the PostgreSQL server's).
    public var engineVersion: String
    /// The file's path, or the URL without its password.
    public var location: String
    /// Applied migrations, in the order they were applied.
    public var applied: [String]
    /// Migrations this build knows that the database lacks (applied at the next start).
    public var pending: [String]
    /// Applied migrations this build does not know (a newer build migrated the database).
    public var unknown: [String]

    public init(engine: String, engineVersion: String, location: String, applied: [String], known: [String]) {
        self.engine = engine
        self.engineVersion = engineVersion
        self.location = location
        self.applied = applied
        pending = known.filter { !applied.contains($0) }
        unknown = applied.filter { !known.contains($0) }
    }
}

extension AppDatabase {
    /// The status of `<dataDir>/switchyard.sqlite`, read without migrating or writing anything.
    public static func migrationStatus(dataDir: String) throws -> MigrationStatus {
        let path = dataDir + "/switchyard.sqlite"
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError.dataDir("no database at \(path): check --data-dir (only `switchyard serve` creates one)")
        }
        let pool = try SQLiteDatabase.open(SQLiteOptions(path: path, readonly: true))
        let (applied, version) = try pool.read { db in
            (try migrator.appliedIdentifiers(db), try String.fetchOne(db, sql: "SELECT sqlite_version()") ?? "")
        }
        // GRDB records identifiers without their order; the registration order is the order they apply in.
        let known = migrator.migrations
        let ordered = known.filter(applied.contains) + applied.filter { !known.contains($0) }.sorted()
        return MigrationStatus(engine: "sqlite", engineVersion: version, location: path, applied: ordered, known: known)
    }
}
