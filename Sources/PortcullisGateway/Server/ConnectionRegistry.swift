import NIOCore
import Synchronization

/// Finds the ``ClientConnection`` of a channel. Entries are added when a connection is set up and removed when
/// its channel closes, so the registry holds exactly the open connections.
final class ConnectionRegistry: Sendable {
    private let connections = Mutex<[ObjectIdentifier: ClientConnection]>([:])

    /// Registers a new connection and arranges its removal when the channel closes.
    func register(_ channel: any Channel) -> ClientConnection {
        let connection = ClientConnection()
        let key = ObjectIdentifier(channel)
        connections.withLock { $0[key] = connection }
        channel.closeFuture.whenComplete { [weak self] _ in
            connection.markClosed()
            _ = self?.connections.withLock { $0.removeValue(forKey: key) }
        }
        return connection
    }

    func connection(for channel: any Channel) -> ClientConnection? {
        connections.withLock { $0[ObjectIdentifier(channel)] }
    }
}
