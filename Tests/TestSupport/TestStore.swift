import Foundation
import Logging
import PostgresNIO
import Scheduler
@_spi(Engine) import Store
import Synchronization
import Testing

/// The two engines the queue, store, gateway, import and maintenance tests run on.
public enum Engine: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres
    public var testDescription: String { rawValue }
}

public let testLogger: Logger = {
    var logger = Logger(label: "test")
    logger.logLevel = .warning
    return logger
}()

/// A fresh, migrated store on one engine with the queue that enqueues inside its transactions: a SQLite file in a
/// temp directory, or a fresh database on the test process's private PostgreSQL cluster. `dir` is a temp
/// directory either way (for artifacts and data files). Removed, or its client stopped, when the test ends.
public final class TestStore: @unchecked Sendable {  // set up in init, then only read; deinit cleans up
    public let engine: Engine
    public let dir: String
    public let db: AppDatabase
    public let queue: StoreQueue
    /// The PostgreSQL URL (with the test cluster's password), nil on SQLite.
    public let databaseURL: String?
    private let clients = Mutex<[Task<Void, Never>]>([])

    public init(_ engine: Engine, clock: any WallClock = SystemWallClock(), qos: DispatchQoS = .userInitiated) async throws {
        self.engine = engine
        dir = NSTemporaryDirectory() + "switchyard-store-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        switch engine {
        case .sqlite:
            db = try AppDatabase.open(dataDir: dir, qos: qos)
            queue = SQLiteQueue(pool: db.pool, clock: clock)
            databaseURL = nil
        case .postgres:
            let url = try await PostgresServer.freshDatabase()
            (db, queue) = try await Self.attach(url, clock: clock, clients)
            databaseURL = url
        }
    }

    /// A store on an existing PostgreSQL database (migrated here if it is not yet).
    public init(attachingTo url: String, clock: any WallClock = SystemWallClock()) async throws {
        engine = .postgres
        dir = NSTemporaryDirectory() + "switchyard-store-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        (db, queue) = try await Self.attach(url, clock: clock, clients)
        databaseURL = url
    }

    /// The store and queue on the PostgreSQL database at `url`, migrated.
    private static func attach(_ url: String, clock: any WallClock, _ clients: borrowing Mutex<[Task<Void, Never>]>)
        async throws -> (AppDatabase, StoreQueue) {
        let postgres = try client(url, clients)
        _ = try await AppDatabase.postgresMigrator.migrate(postgres, logger: testLogger)
        return (try AppDatabase(postgres: postgres, location: DatabaseURL(url).location, threads: 8, logger: testLogger),
                PostgresQueue(client: postgres, clock: clock, logger: testLogger))
    }

    /// Another handle on the same database, with connections of its own, as a second process would have.
    public func secondHandle() throws -> AppDatabase {
        guard let databaseURL else { return try AppDatabase(options: SQLiteOptions(path: dir + "/switchyard.sqlite")) }
        return try AppDatabase(postgres: Self.client(databaseURL, clients), location: DatabaseURL(databaseURL).location,
                               threads: 8, logger: testLogger)
    }

    /// A running client of `url`, stopped with the store.
    private static func client(_ url: String, _ clients: borrowing Mutex<[Task<Void, Never>]>) throws -> PostgresClient {
        var configuration = try DatabaseURL(url).clientConfiguration()
        configuration.options.maximumConnections = 8
        let client = PostgresClient(configuration: configuration, backgroundLogger: testLogger)
        clients.withLock { $0.append(Task { await client.run() }) }
        return client
    }

    deinit {
        clients.withLock { tasks in tasks.forEach { $0.cancel() } }
        try? FileManager.default.removeItem(atPath: dir)
    }
}
