import NIOCore
import NIOPosix

/// A plain TCP connection for sending bytes no HTTP client would send (bad framing, control characters,
/// `Expect: 100-continue` handled step by step).
struct RawConnection {
    private var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private(set) var received = ""

    static func with<T: Sendable>(port: Int, _ body: (inout RawConnection) async throws -> T) async throws -> T {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var connection = RawConnection(inbound: inbound.makeAsyncIterator(), outbound: outbound)
            return try await body(&connection)
        }
    }

    mutating func send(_ text: String) async throws {
        try await outbound.write(ByteBuffer(string: text))
    }

    mutating func send(bytes: [UInt8]) async throws {
        try await outbound.write(ByteBuffer(bytes: bytes))
    }

    /// Reads until `condition` holds for everything received so far, or the peer closes.
    @discardableResult
    mutating func receive(until condition: (String) -> Bool) async throws -> String {
        while !condition(received) {
            guard let chunk = try await inbound.next() else { break }
            received += String(buffer: chunk)
        }
        return received
    }

    /// Reads until the peer closes the connection.
    mutating func receiveUntilClosed() async throws -> String {
        try await receive(until: { _ in false })
    }
}
