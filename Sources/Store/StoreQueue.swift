import GRDB
import Scheduler

/// The queue as the SQLite store sees it: a driver whose enqueues join the store's own write transactions (GRDB's
/// `Database` inside a write), so a workflow's rows and the jobs that drive them commit together. A PostgreSQL
/// store holds its engine's driver the same way, with its own transaction type.
public typealias StoreQueue = any TransactionalQueue<Database>
