/// A queue whose writes join a transaction the caller already holds on the same database (River's `InsertTx`,
/// Oban's `Multi`): the jobs commit or roll back with the caller's rows, and workers are woken only after the
/// commit.
///
/// `Transaction` is the engine's handle inside a transaction its store opened: the SQLite driver takes GRDB's
/// `Database` inside a write; a PostgreSQL driver takes its connection inside `BEGIN … COMMIT`. A store engine
/// holds the driver of its own engine (`any TransactionalQueue<ItsTransaction>`), so the pairing is checked by
/// the compiler instead of by a downcast.
public protocol TransactionalQueue<Transaction>: QueueDriver {
    associatedtype Transaction

    /// Inserts `jobs` inside `transaction` (unique keys as in `enqueue(_:)`).
    func enqueue(_ jobs: [NewJob], in transaction: Transaction) throws -> [EnqueueResult]

    /// Cancels the live jobs holding any of `uniqueKeys` inside `transaction`; returns how many.
    @discardableResult
    func cancel(uniqueKeys: [String], in transaction: Transaction) throws -> Int
}
