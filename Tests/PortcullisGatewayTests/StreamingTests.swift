import AsyncHTTPClient
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import NIOPosix
@testable import PortcullisCore
import PortcullisGateway
import Synchronization
import Testing

@Suite("Streaming, payload limits and disconnects")
struct StreamingTests {
    /// 100 MB: the contract's payload limit.
    static let payloadSize = 100_000_000

    @Test("SSE frames reach the client while the agent is still streaming")
    func sseFramesArriveBeforeTheEnd() async throws {
        // The agent sends frame 2 only after the client has seen frame 1, so a buffering gateway deadlocks
        // (and the test times out) while a streaming one finishes.
        let (clientSawFrame, signal) = AsyncStream<Void>.makeStream()
        let firstFrameSeen = Mutex(Optional(clientSawFrame))
        try await withTestAgent({ router, _ in
            router.post("/invocations") { _, _ in
                let waiter = firstFrameSeen.withLock { stream in
                    defer { stream = nil }
                    return stream
                }
                return Response(
                    status: .ok,
                    headers: [.contentType: "text/event-stream"],
                    body: ResponseBody { writer in
                        try await writer.write(ByteBuffer(string: "data: {\"n\":1}\n\n"))
                        if let waiter {
                            for await _ in waiter { break }
                        }
                        try await writer.write(ByteBuffer(string: "data: {\"n\":2}\n\n"))
                        try await writer.finish(nil)
                    }
                )
            }
        }) { agentURL, _ in
            try await TestGateway.run { gateway in
                let arn = try await gateway.registerAgent(name: "sse", url: agentURL)
                var request = HTTPClientRequest(url: gateway.invocationURL(arn))
                request.method = .POST
                request.headers.add(name: "Authorization", value: "Bearer \(gateway.invokeKey)")
                request.headers.add(name: "Accept", value: "text/event-stream")
                request.body = .bytes(ByteBuffer(string: "{}"))
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                #expect(response.status == .ok)
                #expect(response.headers.first(name: "content-type") == "text/event-stream")
                var received = ""
                var signalled = false
                for try await chunk in response.body {
                    received += String(buffer: chunk)
                    if !signalled, received.contains("{\"n\":1}") {
                        #expect(!received.contains("{\"n\":2}"))
                        signalled = true
                        signal.yield()
                        signal.finish()
                    }
                }
                #expect(received == "data: {\"n\":1}\n\ndata: {\"n\":2}\n\n")
            }
        }
    }

    @Test("100 MB up (with Content-Length and chunked) and 100 MB down pass through intact")
    func hundredMegabytes() async throws {
        try await withTestAgent({ router, _ in
            router.post("/invocations") { request, _ in
                var hasher = SHA256()
                var count = 0
                for try await chunk in request.body {
                    count += chunk.readableBytes
                    chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                }
                let digest = hasher.finalize().map { String(format: "%02x", $0) }.joined()
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"bytes":\#(count),"sha256":"\#(digest)"}"#)))
            }
            router.get("/.well-known/agent-card.json") { _, _ in
                Response(
                    status: .ok,
                    headers: [.contentType: "application/octet-stream"],
                    body: ResponseBody(contentLength: Self.payloadSize) { writer in
                        var remaining = Self.payloadSize
                        while remaining > 0 {
                            let size = min(remaining, 1 << 20)
                            try await writer.write(Self.pattern(size))
                            remaining -= size
                        }
                        try await writer.finish(nil)
                    }
                )
            }
        }) { agentURL, _ in
            try await TestGateway.run { gateway in
                let arn = try await gateway.registerAgent(name: "bulk", url: agentURL)
                let expected = Self.patternDigest(Self.payloadSize)
                for knownLength in [true, false] {
                    var request = HTTPClientRequest(url: gateway.invocationURL(arn))
                    request.method = .POST
                    request.headers.add(name: "Authorization", value: "Bearer \(gateway.invokeKey)")
                    request.headers.add(name: "Content-Type", value: "application/octet-stream")
                    request.body = .stream(PatternSequence(total: Self.payloadSize), length: knownLength ? .known(Int64(Self.payloadSize)) : .unknown)
                    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(300))
                    let body = try await response.body.collect(upTo: 4096)
                    #expect(response.status == .ok, "known length: \(knownLength)")
                    let result = try TestGateway.json(String(buffer: body))
                    #expect(result["bytes"] as? Int == Self.payloadSize)
                    #expect(result["sha256"] as? String == expected)
                }

                var download = HTTPClientRequest(url: gateway.invocationURL(arn, suffix: "/invocations/.well-known/agent-card.json"))
                download.headers.add(name: "Authorization", value: "Bearer \(gateway.invokeKey)")
                let response = try await HTTPClient.shared.execute(download, timeout: .seconds(300))
                #expect(response.status == .ok)
                #expect(response.headers.first(name: "content-length") == String(Self.payloadSize))
                var hasher = SHA256()
                var count = 0
                for try await chunk in response.body {
                    count += chunk.readableBytes
                    chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                }
                #expect(count == Self.payloadSize)
                #expect(hasher.finalize().map { String(format: "%02x", $0) }.joined() == expected)
            }
        }
    }

    @Test("bodies above the limit: 413 before reading when Content-Length says so, 413 while streaming otherwise")
    func payloadLimits() async throws {
        try await withTestAgent({ router, recorder in
            router.post("/invocations") { request, _ in
                var count = 0
                for try await chunk in request.body { count += chunk.readableBytes }
                recorder.record(.init(method: request.method, path: request.uri.path, headers: request.headers, bodyBytes: count))
                return Response(status: .ok)
            }
        }) { agentURL, recorder in
            try await TestGateway.run(configure: { $0.limits.maxPayloadBytes = 1_000_000 }) { gateway in
                let arn = try await gateway.registerAgent(name: "limited", url: agentURL)
                let path = "/runtimes/\(PercentEncoding.encodeSegment(arn))/invocations"
                // Declared too large: answered from the head alone; the body is never sent.
                let declared = try await RawConnection.with(port: gateway.port) { connection in
                    try await connection.send(
                        "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(gateway.invokeKey)\r\nContent-Length: 1000001\r\n\r\n"
                    )
                    return try await connection.receiveUntilClosed()
                }
                #expect(declared.hasPrefix("HTTP/1.1 413"))
                #expect(declared.contains("PayloadTooLargeException"))
                #expect(declared.lowercased().contains("connection: close"))

                // Exactly at the limit is fine.
                var atLimit = HTTPClientRequest(url: gateway.invocationURL(arn))
                atLimit.method = .POST
                atLimit.headers.add(name: "Authorization", value: "Bearer \(gateway.invokeKey)")
                atLimit.body = .stream(PatternSequence(total: 1_000_000), length: .unknown)
                #expect(try await HTTPClient.shared.execute(atLimit, timeout: .seconds(60)).status == .ok)
                #expect(recorder.requests.last?.bodyBytes == 1_000_000)

                // Chunked and one byte too many: refused while streaming.
                var chunked = HTTPClientRequest(url: gateway.invocationURL(arn))
                chunked.method = .POST
                chunked.headers.add(name: "Authorization", value: "Bearer \(gateway.invokeKey)")
                chunked.body = .stream(PatternSequence(total: 1_000_001), length: .unknown)
                let response = try await HTTPClient.shared.execute(chunked, timeout: .seconds(60))
                #expect(response.status.code == 413)
                let envelope = try TestGateway.json(String(buffer: try await response.body.collect(upTo: 4096)))
                #expect(envelope["__type"] as? String == "PayloadTooLargeException")
                #expect(recorder.requests.allSatisfy { $0.bodyBytes <= 1_000_000 })
            }
        }
    }

    @Test("Expect: 100-continue is answered, and refused up front when the body would be too large")
    func expectContinue() async throws {
        try await withTestAgent({ $0.addRecordingInvocations($1) }) { agentURL, recorder in
            try await TestGateway.run(configure: { $0.limits.maxPayloadBytes = 1000 }) { gateway in
                let arn = try await gateway.registerAgent(name: "expect", url: agentURL)
                let path = "/runtimes/\(PercentEncoding.encodeSegment(arn))/invocations"
                let head = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(gateway.invokeKey)\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
                let accepted = try await RawConnection.with(port: gateway.port) { connection in
                    try await connection.send(head + "Content-Length: 11\r\nConnection: close\r\n\r\n")
                    let interim = try await connection.receive(until: { $0.contains("\r\n\r\n") })
                    #expect(interim.hasPrefix("HTTP/1.1 100 Continue\r\n"))
                    try await connection.send(#"{"a":"bcd"}"#)
                    return try await connection.receiveUntilClosed()
                }
                #expect(accepted.contains("HTTP/1.1 200 OK"))
                #expect(accepted.contains(#"\"body\":\"{\\\"a\\\":\\\"bcd\\\"}\""#) || accepted.contains(#"{\"a\":\"bcd\"}"#))
                #expect(recorder.requests.last?.headers[.expect] == nil, "Expect is hop-by-hop")

                let refused = try await RawConnection.with(port: gateway.port) { connection in
                    try await connection.send(head + "Content-Length: 1001\r\n\r\n")
                    return try await connection.receiveUntilClosed()
                }
                #expect(refused.hasPrefix("HTTP/1.1 413"))
                #expect(!refused.contains("100 Continue"))
            }
        }
    }

    @Test("an agent that answers before reading the body: the gateway hands the body over safely, every time")
    func earlyAnswers() async throws {
        try await withTestAgent({ router, _ in
            router.post("/invocations") { _, _ in
                Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"early":true}"#)))
            }
        }) { agentURL, _ in
            try await TestGateway.run { gateway in
                let arn = try await gateway.registerAgent(name: "early", url: agentURL)
                for round in 0..<40 {
                    var request = HTTPClientRequest(url: gateway.invocationURL(arn))
                    request.method = .POST
                    request.headers.add(name: "Authorization", value: "Bearer \(gateway.invokeKey)")
                    switch round % 3 {
                    case 0: request.body = .bytes(ByteBuffer(string: "{}"))
                    case 1: request.body = .stream(PatternSequence(total: 2_000_000), length: .unknown)
                    default: request.body = .stream(PatternSequence(total: 3_000_000), length: .known(3_000_000))
                    }
                    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
                    #expect(response.status == .ok, "round \(round)")
                    #expect(String(buffer: try await response.body.collect(upTo: 1024)) == #"{"early":true}"#)
                }
                #expect(try await gateway.send(.GET, "\(gateway.baseURL)/ping", key: .some(nil)).status == 200)
            }
        }
    }

    @Test("a client that disconnects while waiting for the agent cancels the upstream request")
    func disconnectCancelsUpstream() async throws {
        let agent = try await SilentAgent.start()
        defer { agent.stop() }
        try await TestGateway.run { gateway in
            let arn = try await gateway.registerAgent(name: "silent", url: "http://127.0.0.1:\(agent.port)")
            let path = "/runtimes/\(PercentEncoding.encodeSegment(arn))/invocations"
            try await RawConnection.with(port: gateway.port) { connection in
                try await connection.send(
                    "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(gateway.invokeKey)\r\nContent-Length: 2\r\n\r\n{}"
                )
                try await agent.waitForRequest()
            }
            // The client's connection is closed now; the gateway must drop the agent connection long before its
            // 900 s read timeout. waitForClose fails the test after 20 s.
            try await agent.waitForClose(within: .seconds(20))
        }
    }

    /// One MiB of the test pattern, built once.
    static let patternChunk = ByteBuffer(bytes: (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 % 251) })

    /// The first `size` bytes (at most 1 MiB) of the pattern.
    @Test("a client that disconnects in the middle of a stream closes the agent connection")
    func disconnectDuringStream() async throws {
        let agent = try await SilentAgent.start(
            reply: "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n9\r\ndata: 1\n\n\r\n"
        )
        defer { agent.stop() }
        try await TestGateway.run { gateway in
            let arn = try await gateway.registerAgent(name: "idle_stream", url: "http://127.0.0.1:\(agent.port)")
            let path = "/runtimes/\(PercentEncoding.encodeSegment(arn))/invocations"
            try await RawConnection.with(port: gateway.port) { connection in
                try await connection.send(
                    "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(gateway.invokeKey)\r\nContent-Length: 2\r\n\r\n{}"
                )
                let received = try await connection.receive(until: { $0.contains("data: 1") })
                #expect(received.contains("text/event-stream"))
            }
            // The agent stays silent; only the gateway noticing the client leaving can close its connection.
            try await agent.waitForClose(within: .seconds(20))
        }
    }

    static func pattern(_ size: Int) -> ByteBuffer {
        patternChunk.getSlice(at: patternChunk.readerIndex, length: size)!
    }

    static func patternDigest(_ total: Int) -> String {
        var hasher = SHA256()
        var remaining = total
        while remaining > 0 {
            let size = min(remaining, 1 << 20)
            pattern(size).withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
            remaining -= size
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}

/// `total` bytes of the test pattern in 1 MiB chunks (each chunk restarts the pattern).
struct PatternSequence: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let total: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        var remaining: Int
        let chunk = StreamingTests.patternChunk

        mutating func next() async -> ByteBuffer? {
            guard remaining > 0 else { return nil }
            let size = Swift.min(remaining, 1 << 20)
            remaining -= size
            return chunk.getSlice(at: chunk.readerIndex, length: size)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(remaining: total) }
}

/// A TCP server that reads requests and never answers, and reports when its connection closes.
final class SilentAgent: Sendable {
    private final class Handler: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let events: Mutex<[String]>.Reference
        let reply: String?

        init(events: Mutex<[String]>.Reference, reply: String?) {
            self.events = events
            self.reply = reply
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            events.append("request")
            if let reply, !events.contains("replied") {
                events.append("replied")
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: reply)), promise: nil)
            }
        }
        func channelInactive(context: ChannelHandlerContext) { events.append("closed") }
    }

    let port: Int
    private let channel: any Channel
    private let events: Mutex<[String]>.Reference

    private init(port: Int, channel: any Channel, events: Mutex<[String]>.Reference) {
        self.port = port
        self.channel = channel
        self.events = events
    }

    /// - Parameter reply: raw bytes sent once after the first request bytes arrive (then silence).
    static func start(reply: String? = nil) async throws -> SilentAgent {
        let events = Mutex<[String]>.Reference()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Handler(events: events, reply: reply)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return SilentAgent(port: channel.localAddress?.port ?? 0, channel: channel, events: events)
    }

    func waitForRequest() async throws { try await wait(for: "request", within: .seconds(20)) }

    func waitForClose(within limit: Duration) async throws { try await wait(for: "closed", within: limit) }

    /// Polls until `event` happened; fails after `limit` (a bound for a hung test, not a performance claim).
    private func wait(for event: String, within limit: Duration) async throws {
        let deadline = ContinuousClock.now + limit
        while !events.contains(event) {
            guard ContinuousClock.now < deadline else { throw TestFailure("the agent did not see '\(event)' within \(limit)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    func stop() { channel.close(promise: nil) }
}

extension Mutex where Value == [String] {
    /// A shareable list of strings.
    final class Reference: Sendable {
        private let storage = Mutex<[String]>([])
        func append(_ value: String) { storage.withLock { $0.append(value) } }
        func contains(_ value: String) -> Bool { storage.withLock { $0.contains(value) } }
    }
}
