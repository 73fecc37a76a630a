import NIOCore
import Synchronization

/// The connections a service offered to a sandbox holds open: client connections admitted up to a limit, plus any
/// other channel they lead to (an egress tunnel's destination), all closed together when the service ends.
final class ChannelSet: Sendable {
    private let limit: Int
    private let channels = Mutex<(open: [ObjectIdentifier: any Channel], clients: Int, closed: Bool)>(([:], 0, false))

    /// - Parameter limit: how many client connections may be open at once.
    init(limit: Int) {
        self.limit = limit
    }

    /// Admits a new client connection, or refuses it beyond the limit or once the set is closed.
    func admit(_ client: any Channel) -> Bool {
        let admitted = channels.withLock { state -> Bool in
            guard !state.closed, state.clients < limit else { return false }
            state.clients += 1
            state.open[ObjectIdentifier(client)] = client
            return true
        }
        if admitted {
            client.closeFuture.whenComplete { _ in
                self.channels.withLock { state in
                    state.clients -= 1
                    state.open[ObjectIdentifier(client)] = nil
                }
            }
        }
        return admitted
    }

    /// Tracks a channel that does not count against the limit. Returns `false` once the set is closed.
    func track(_ channel: any Channel) -> Bool {
        let tracked = channels.withLock { state -> Bool in
            guard !state.closed else { return false }
            state.open[ObjectIdentifier(channel)] = channel
            return true
        }
        if tracked {
            channel.closeFuture.whenComplete { _ in
                _ = self.channels.withLock { $0.open.removeValue(forKey: ObjectIdentifier(channel)) }
            }
        }
        return tracked
    }

    /// Refuses everything from now on and closes every channel.
    func closeAll() async {
        let open = channels.withLock { state -> [any Channel] in
            state.closed = true
            return Array(state.open.values)
        }
        for channel in open { try? await channel.close() }
    }
}
