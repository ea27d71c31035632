import Logging
import Scheduler

extension AppDatabase {
    /// The `NOTIFY` channel on which PostgreSQL announces changes to users, keys, channels, prices and nodes (payload:
    /// the table), from triggers, so no write path can forget to.
    public static let stateChannel = "switchyard_state"

    /// Whether this engine announces state changes (PostgreSQL); on SQLite processes find them by polling.
    public var announcesStateChanges: Bool { engine == .postgresql }

    /// Calls `changed` with the table's name on each announced change, until cancelled; on every (re)connection with
    /// nil (changes may have gone unannounced while it was down). A lost connection is taken again after
    /// `retryDelay`. Returns at once on SQLite.
    public func listenForStateChanges(retryDelay: Duration = .seconds(1), logger: Logger,
                                      _ changed: @escaping @Sendable (String?) -> Void) async {
        guard case .postgres(let store) = backend else { return }
        await store.client.listenUntilCancelled(
            on: Self.stateChannel, retryDelay: retryDelay, logger: logger,
            lost: "state change notifications lost; polling until listening again",
            onListening: { changed(nil) }, onNotification: { changed($0) })
    }
}
