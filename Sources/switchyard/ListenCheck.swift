import NIOCore
import NIOPosix
import Probe

/// Proves a listen address free before a daemon starts anything: a port held by another process is reported
/// as one line at once, instead of the HTTP server's bind failing after the workers have already claimed jobs.
enum ListenCheck {
    /// Binds `host:port` and lets it go again; throws a `CLIError` naming the address when the bind fails.
    /// Port 0 (any free port) cannot be taken, so it is not checked.
    static func ensureAvailable(host: String, port: Int) async throws {
        guard port != 0 else { return }
        do {
            // The server binds with SO_REUSEADDR too, so a port left in TIME_WAIT passes here as it does there.
            let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .bind(host: host, port: port).get()
            try await channel.close().get()
        } catch {
            throw CLIError(message(host: host, port: port, error: error))
        }
    }

    /// "cannot listen on 127.0.0.1:8080: address already in use".
    static func message(host: String, port: Int, error: any Error) -> String {
        let address = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        return "cannot listen on \(address): \(ConnectionErrorText.describe(error))"
    }
}
