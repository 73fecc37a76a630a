import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import PortcullisSessions
import Synchronization

/// Keep-alive connections to agents, kept per agent address and per event loop so a request's upstream
/// connection lives on the same thread as its client connection.
///
/// Idle connections are dropped after ``idleLifetime`` — shorter than the keep-alive timeouts of common agent
/// servers (uvicorn closes idle connections after 5 s), so the gateway rarely sends on a connection the agent is
/// closing.
final class UpstreamConnectionPool: Sendable {
    struct Key: Hashable, Sendable {
        var host: String
        var port: Int
        var isTLS: Bool
        /// The sandbox whose loopback the port is on; `nil` for endpoint agents.
        var sandbox: String?
        var eventLoop: ObjectIdentifier

        init(_ address: UpstreamAddress, on eventLoop: any EventLoop) {
            self.host = address.host
            self.port = address.port
            self.isTLS = address.isTLS
            self.sandbox = address.sandbox?.id
            self.eventLoop = ObjectIdentifier(eventLoop)
        }
    }

    private struct Idle {
        var connection: UpstreamConnection
        var since: NIODeadline
    }

    static let idleLifetime: TimeAmount = .seconds(4)

    private let idle = Mutex<[Key: [Idle]]>([:])
    private let maxIdlePerKey: Int
    private let connectTimeout: TimeAmount
    private let readTimeout: TimeAmount
    private let group: any EventLoopGroup
    private let tlsContext: NIOSSLContext?

    init(maxIdlePerKey: Int, connectTimeout: TimeAmount, readTimeout: TimeAmount, group: any EventLoopGroup) {
        self.maxIdlePerKey = maxIdlePerKey
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
        self.group = group
        self.tlsContext = try? NIOSSLContext(configuration: .makeClientConfiguration())
    }

    /// A connection to `address` on `eventLoop`: an idle one if there is one, else a new one.
    /// - Returns: the connection and whether it was reused.
    func acquire(_ address: UpstreamAddress, on eventLoop: any EventLoop) async throws -> (UpstreamConnection, reused: Bool) {
        if let idle = takeIdle(address, on: eventLoop) { return (idle, true) }
        do {
            if let sandbox = address.sandbox {
                let socket: Int32
                do {
                    socket = try await sandbox.connect(port: address.port, timeout: .nanoseconds(connectTimeout.nanoseconds))
                } catch {
                    throw error.kind == .timedOut ? UpstreamError.connectTimeout : UpstreamError.unreachable
                }
                return (try await connect(address, key: Key(address, on: eventLoop), socket: socket, on: eventLoop).get(), false)
            }
            return (try await connect(address, on: eventLoop).get(), false)
        } catch let error as UpstreamError {
            throw error
        } catch {
            throw UpstreamError.unreachable
        }
    }

    /// An idle connection to `address` on `eventLoop`, without waiting; `nil` when there is none.
    func takeIdle(_ address: UpstreamAddress, on eventLoop: any EventLoop) -> UpstreamConnection? {
        let key = Key(address, on: eventLoop)
        let now = NIODeadline.now()
        var stale: [UpstreamConnection] = []
        let found = idle.withLock { idle -> UpstreamConnection? in
            while var list = idle[key], let last = list.popLast() {
                idle[key] = list
                if last.connection.isActive, now - last.since < Self.idleLifetime {
                    return last.connection
                }
                stale.append(last.connection)
            }
            return nil
        }
        for connection in stale { connection.close() }
        return found
    }

    /// A new connection to `address` on `eventLoop`.
    func connect(_ address: UpstreamAddress, on eventLoop: any EventLoop) -> EventLoopFuture<UpstreamConnection> {
        connect(address, key: Key(address, on: eventLoop), socket: nil, on: eventLoop)
    }

    /// Takes a connection back after an exchange, or closes it.
    func release(_ connection: UpstreamConnection, reusable: Bool) {
        guard reusable, connection.isActive else {
            connection.close()
            return
        }
        let kept = idle.withLock { idle -> Bool in
            var list = idle[connection.key, default: []]
            guard list.count < maxIdlePerKey else { return false }
            list.append(Idle(connection: connection, since: .now()))
            idle[connection.key] = list
            return true
        }
        if !kept { connection.close() }
    }

    /// Closes idle connections past their lifetime (called periodically) or all of them.
    func closeIdle(all: Bool = false) {
        let now = NIODeadline.now()
        let expired = idle.withLock { idle -> [UpstreamConnection] in
            var expired: [UpstreamConnection] = []
            for (key, list) in idle {
                let keep = list.filter { !all && $0.connection.isActive && now - $0.since < Self.idleLifetime }
                expired += list.filter { entry in !keep.contains { $0.connection === entry.connection } }.map(\.connection)
                idle[key] = keep.isEmpty ? nil : keep
            }
            return expired
        }
        for connection in expired { connection.close() }
    }

    /// Connects with NIO, or wraps `socket`, already connected (inside a sandbox's network namespace).
    private func connect(_ address: UpstreamAddress, key: Key, socket: Int32?, on eventLoop: any EventLoop) -> EventLoopFuture<UpstreamConnection> {
        let readTimeout = readTimeout
        let tlsContext = address.isTLS ? tlsContext : nil
        if address.isTLS, tlsContext == nil { return eventLoop.makeFailedFuture(UpstreamError.unreachable) }
        let handler = NIOLoopBoundBox.makeEmptyBox(valueType: UpstreamConnectionHandler.self, eventLoop: eventLoop)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tlsContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tlsContext, serverHostname: address.tlsServerName))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    let connectionHandler = UpstreamConnectionHandler(readTimeout: readTimeout)
                    handler.value = connectionHandler
                    try channel.pipeline.syncOperations.addHandler(connectionHandler)
                }
            }
        let channel = socket.map { bootstrap.withConnectedSocket($0) } ?? bootstrap.connect(host: address.host, port: address.port)
        return channel
            .flatMapErrorThrowing { error in
                if case ChannelError.connectTimeout = error { throw UpstreamError.connectTimeout }
                throw UpstreamError.unreachable
            }
            .flatMapThrowing { channel -> UpstreamConnection in
                guard let connectionHandler = handler.value else { throw UpstreamError.unreachable }
                let connection = UpstreamConnection(channel: channel, key: key, handler: connectionHandler)
                connection.attach { [weak self] reusable in
                    self?.release(connection, reusable: reusable)
                }
                return connection
            }
    }
}
