import Foundation
import Glibc
import Logging
import NIOCore
import NIOPosix
import PortcullisCore

/// Reads one `CONNECT host:port` request from a sandbox, decides it against the agent's egress rules, connects, and
/// turns the connection into a tunnel (``TunnelHandler`` on both sides). Every refusal is an HTTP error the agent's
/// client shows, and the connection closes.
final class ConnectRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State {
        case readingHead
        case connecting
        case done
    }

    private let policy: EgressProxy.Policy
    private let tunnels: ChannelSet
    private var state = State.readingHead
    private var head = ByteBuffer()
    /// Bytes the client sent after its request head, for the destination.
    private var early: [ByteBuffer] = []

    init(policy: EgressProxy.Policy, tunnels: ChannelSet) {
        self.policy = policy
        self.tunnels = tunnels
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        switch state {
        case .readingHead:
            head.writeBuffer(&bytes)
            guard let end = head.readableBytesView.firstRange(of: Array("\r\n\r\n".utf8)) else {
                if head.readableBytes > EgressProxy.maxRequestHeadBytes { refuse(context, 431, "Request Header Fields Too Large", "the request head is too large") }
                return
            }
            let headLength = end.upperBound - head.readerIndex
            let text = head.readString(length: headLength) ?? ""
            if head.readableBytes > 0 { early.append(head.slice()) }
            state = .connecting
            context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
            decide(context, requestHead: text)
        case .connecting:
            early.append(bytes)
        case .done:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func decide(_ context: ChannelHandlerContext, requestHead: String) {
        // "\r\n" is one Character in Swift: split on the string, not on "\r".
        let requestLine = (requestHead.components(separatedBy: "\r\n").first ?? "").split(separator: " ")
        guard requestLine.count == 3, requestLine[2].hasPrefix("HTTP/1.") else {
            return refuse(context, 400, "Bad Request", "not an HTTP request")
        }
        guard requestLine[0] == "CONNECT" else {
            return refuse(context, 405, "Method Not Allowed", "this proxy only opens tunnels (CONNECT); use https:// URLs")
        }
        guard let (host, port) = Self.target(String(requestLine[1])) else {
            return refuse(context, 400, "Bad Request", "the CONNECT target must be host:port")
        }
        let destination = "\(host):\(port)"
        guard let rule = policy.rules.first(where: { $0.matches(host: host, port: port) }) else {
            return refuse(context, 403, "Forbidden", "\(destination) is not in this agent's egress allowlist")
        }
        let eventLoop = context.eventLoop
        let resolved: EventLoopFuture<[SocketAddress]> =
            rule.namesAddress
            ? eventLoop.makeCompletedFuture { [try SocketAddress(ipAddress: host, port: port)] }
            : NIOThreadPool.singleton.runIfActive(eventLoop: eventLoop) { try Self.resolve(host, port: port) }
        let boundContext = NIOLoopBound(context, eventLoop: eventLoop)
        let handler = NIOLoopBound(self, eventLoop: eventLoop)
        resolved.whenComplete { result in
            let context = boundContext.value
            switch result {
            case .failure(let error as EgressRefusal):
                handler.value.refuse(context, 403, "Forbidden", "\(destination) \(error.reason)")
            case .failure:
                handler.value.refuse(context, 502, "Bad Gateway", "\(host) does not resolve")
            case .success(let addresses):
                handler.value.connect(context, to: addresses, destination: destination)
            }
        }
    }

    private func connect(_ context: ChannelHandlerContext, to addresses: [SocketAddress], destination: String) {
        guard let address = addresses.first else {
            return refuse(context, 502, "Bad Gateway", "\(destination) has no address")
        }
        let eventLoop = context.eventLoop
        let boundContext = NIOLoopBound(context, eventLoop: eventLoop)
        let handler = NIOLoopBound(self, eventLoop: eventLoop)
        ClientBootstrap(group: eventLoop)
            .connectTimeout(EgressProxy.connectTimeout)
            .channelOption(.allowRemoteHalfClosure, value: false)
            .connect(to: address)
            .whenComplete { result in
                let context = boundContext.value
                switch result {
                case .success(let peer):
                    handler.value.tunnel(context, to: peer, destination: destination)
                case .failure:
                    if addresses.count > 1 {
                        handler.value.connect(context, to: Array(addresses.dropFirst()), destination: destination)
                    } else {
                        handler.value.refuse(context, 502, "Bad Gateway", "cannot connect to \(destination)")
                    }
                }
            }
    }

    private func tunnel(_ context: ChannelHandlerContext, to peer: any Channel, destination: String) {
        let client = context.channel
        guard client.isActive, tunnels.track(peer) else {
            peer.close(promise: nil)
            context.close(promise: nil)
            return
        }
        state = .done
        policy.logger.info("egress tunnel opened", metadata: ["sandbox": "\(policy.sandboxId)", "destination": "\(destination)"])
        do {
            try peer.pipeline.syncOperations.addHandlers([IdleStateHandler(allTimeout: EgressProxy.idleTimeout), TunnelHandler(peer: client)])
            try context.pipeline.syncOperations.addHandlers([IdleStateHandler(allTimeout: EgressProxy.idleTimeout), TunnelHandler(peer: peer)])
        } catch {
            peer.close(promise: nil)
            context.close(promise: nil)
            return
        }
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "HTTP/1.1 200 Connection Established\r\n\r\n")), promise: nil)
        for bytes in early { peer.write(bytes, promise: nil) }
        early = []
        peer.flush()
        context.pipeline.syncOperations.removeHandler(self, promise: nil)
        client.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
    }

    private func refuse(_ context: ChannelHandlerContext, _ status: Int, _ phrase: String, _ reason: String) {
        guard state != .done else { return }
        state = .done
        policy.logger.warning("egress refused", metadata: ["sandbox": "\(policy.sandboxId)", "status": "\(status)", "reason": "\(reason)"])
        let body = "portcullis egress proxy: \(reason)\n"
        let response = "HTTP/1.1 \(status) \(phrase)\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: response))).whenComplete { _ in context.close(promise: nil) }
    }

    /// `host:port` or `[v6]:port`, the host lowercased.
    static func target(_ text: String) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65_535).contains(port) else {
            return nil
        }
        var host = String(text[..<colon]).lowercased()
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, host.utf8.count <= 253, host.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        return (host, port)
    }

    /// The host's addresses, refused with ``EgressRefusal`` when any of them is internal.
    static func resolve(_ host: String, port: Int) throws -> [SocketAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let list else { throw ResolutionFailure() }
        defer { freeaddrinfo(list) }
        var addresses: [SocketAddress] = []
        var entry: UnsafeMutablePointer<addrinfo>? = list
        while let current = entry {
            defer { entry = current.pointee.ai_next }
            guard let raw = current.pointee.ai_addr else { continue }
            // The address bytes sit at fixed offsets of sockaddr_in (4) and sockaddr_in6 (8).
            let family = current.pointee.ai_family
            guard family == AF_INET || family == AF_INET6 else { continue }
            let length = family == AF_INET ? 4 : 16
            let bytes = (0..<length).map { UnsafeRawPointer(raw).load(fromByteOffset: (family == AF_INET ? 4 : 8) + $0, as: UInt8.self) }
            let isInternal = family == AF_INET ? IPAddressClassifier.isInternal(ipv4: bytes) : IPAddressClassifier.isInternal(ipv6: bytes)
            if isInternal { throw EgressRefusal(reason: "resolves to an internal address") }
            var text = [CChar](repeating: 0, count: 64)
            guard inet_ntop(family, bytes, &text, socklen_t(text.count)) != nil else { continue }
            addresses.append(try SocketAddress(ipAddress: String(cString: text), port: port))
        }
        return addresses
    }
}

/// Why a destination named by a host is not reached.
struct EgressRefusal: Error {
    var reason: String
}

/// The name does not resolve (a 502: the destination is allowed but cannot be reached).
struct ResolutionFailure: Error {}

/// One side of a tunnel: what this channel reads goes to its peer. Reading pauses while the peer cannot take more,
/// and closing either side (or idling past the timeout) closes both.
final class TunnelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let peer: any Channel

    init(peer: any Channel) {
        self.peer = peer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        peer.write(unwrapInboundIn(data), promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        peer.flush()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // This side's writes are the peer's reads: stop reading the peer while this side's buffer is full.
        peer.setOption(ChannelOptions.autoRead, value: context.channel.isWritable).whenComplete { _ in }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        peer.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
