import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
@testable import PortcullisCore
@testable import PortcullisGateway
import Testing

@Suite("WebSocket relay")
struct WebSocketTests {
    /// An agent whose `/ws` echoes messages, closes with 4001 on request, and records the upgrade headers.
    static func configureAgent(_ router: AgentRouter, _ recorder: RequestRecorder) {
        router.ws("/ws", shouldUpgrade: { request, _ in
            recorder.record(.init(method: request.method, path: request.uri.path, headers: request.headers, bodyBytes: 0))
            return .upgrade([:])
        }) { inbound, outbound, _ in
            var messages = inbound.messages(maxSize: 1 << 24).makeAsyncIterator()
            while let message = try await messages.next() {
                switch message {
                case .text("close-4001"):
                    try await outbound.close(.init(codeNumber: 4001), reason: "agent says bye")
                    return
                case .text(let text): try await outbound.write(.text("echo:" + text))
                case .binary(let buffer): try await outbound.write(.binary(buffer))
                }
            }
        }
    }

    /// Opens a WebSocket to the gateway, as a raw frame channel.
    static func connect(
        _ gateway: TestGateway,
        arn: String,
        headers: [(String, String)]? = nil,
        query: String? = nil
    ) async throws -> NIOAsyncChannel<WebSocketFrame, WebSocketFrame> {
        // Generous: the gateway answers the upgrade only once the agent side is up, and a loaded CI machine (the
        // sandbox suites run beside this one) can take seconds for that.
        let connector = UpstreamWebSocketConnector(
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            connectTimeout: .seconds(10),
            handshakeTimeout: .seconds(45),
            maxFrameBytes: 1 << 24
        )
        var httpHeaders = HTTPHeaders()
        for (name, value) in headers ?? [("Authorization", "Bearer \(gateway.invokeKey)")] {
            httpHeaders.add(name: name, value: value)
        }
        let path = "/runtimes/\(PercentEncoding.encodeSegment(arn))/ws" + (query.map { "?\($0)" } ?? "")
        return try await connector.connect(to: UpstreamAddress(url: gateway.baseURL)!, path: path, headers: httpHeaders).0
    }

    static func text(_ string: String) -> WebSocketFrame {
        WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: ByteBuffer(string: string))
    }

    @Test("text and binary messages, pings and the agent's close code cross the relay")
    func relay() async throws {
        try await withTestAgent(Self.configureAgent) { agentURL, recorder in
            try await TestGateway.run { gateway in
                let arn = try await gateway.registerAgent(name: "sockets", url: agentURL, allowlist: ["X-Tenant-Id"])
                let sessionId = SecureRandom.uuid() + "-ws"
                let client = try await Self.connect(
                    gateway,
                    arn: arn,
                    headers: [
                        ("Authorization", "Bearer \(gateway.invokeKey)"), ("X-Tenant-Id", "t-9"),
                        ("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id", sessionId), ("Cookie", "c=1"),
                    ]
                )
                try await client.executeThenClose { inbound, outbound in
                    var frames = inbound.makeAsyncIterator()
                    try await outbound.write(Self.text("hello"))
                    let echo = try #require(try await frames.next())
                    #expect(echo.opcode == .text)
                    #expect(String(buffer: echo.unmaskedData) == "echo:hello")
                    #expect(echo.maskKey == nil, "frames to the client are unmasked")

                    let payload = ByteBuffer(bytes: (0..<300_000).map { UInt8(truncatingIfNeeded: $0) })
                    try await outbound.write(WebSocketFrame(fin: true, opcode: .binary, maskKey: .random(), data: payload))
                    let binary = try #require(try await frames.next())
                    #expect(binary.opcode == .binary)
                    #expect(binary.unmaskedData == payload)

                    // The gateway answers no pings itself: a pong with this payload comes from the agent.
                    try await outbound.write(WebSocketFrame(fin: true, opcode: .ping, maskKey: .random(), data: ByteBuffer(string: "p-1")))
                    let pong = try #require(try await frames.next())
                    #expect(pong.opcode == .pong)
                    #expect(String(buffer: pong.unmaskedData) == "p-1")

                    try await outbound.write(Self.text("close-4001"))
                    let close = try #require(try await frames.next())
                    #expect(close.opcode == .connectionClose)
                    var data = close.unmaskedData
                    #expect(data.readWebSocketErrorCode() == WebSocketErrorCode(codeNumber: 4001))
                    #expect(String(buffer: data) == "agent says bye")
                }
                let upgrade = try #require(recorder.requests.first?.headers)
                #expect(upgrade[HTTPField.Name("X-Tenant-Id")!] == "t-9")
                #expect(upgrade[HTTPField.Name("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id")!] == sessionId)
                #expect(upgrade[.authorization] == nil)
                #expect(upgrade[.cookie] == nil)
            }
        }
    }

    @Test("the client's close code reaches the agent, and the agent's reply comes back")
    func clientCloseCode() async throws {
        let agent = try await RawWebSocketAgent.start()
        defer { agent.stop() }
        try await TestGateway.run { gateway in
            let arn = try await gateway.registerAgent(name: "raw", url: "http://127.0.0.1:\(agent.port)")
            let client = try await Self.connect(gateway, arn: arn)
            try await client.executeThenClose { inbound, outbound in
                var frames = inbound.makeAsyncIterator()
                var data = ByteBuffer()
                data.write(webSocketErrorCode: WebSocketErrorCode(codeNumber: 4002))
                data.writeString("client leaving")
                try await outbound.write(WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: data))
                let reply = try #require(try await frames.next())
                #expect(reply.opcode == .connectionClose)
                var replyData = reply.unmaskedData
                #expect(replyData.readWebSocketErrorCode() == WebSocketErrorCode(codeNumber: 4002))
            }
            #expect(agent.receivedCloseCodes == [WebSocketErrorCode(codeNumber: 4002)])
        }
    }

    @Test("frames and messages above the limits close the connection with 1009")
    func limits() async throws {
        try await withTestAgent(Self.configureAgent) { agentURL, _ in
            try await TestGateway.run(configure: {
                $0.limits.webSocketMaxFrameBytes = 1024
                $0.limits.webSocketMaxMessageBytes = 4096
            }) { gateway in
                let arn = try await gateway.registerAgent(name: "sockets", url: agentURL)
                let big = try await Self.connect(gateway, arn: arn)
                try await big.executeThenClose { inbound, outbound in
                    var frames = inbound.makeAsyncIterator()
                    try await outbound.write(Self.text(String(repeating: "x", count: 2000)))
                    let close = try #require(try await frames.next())
                    #expect(close.opcode == .connectionClose)
                    var data = close.unmaskedData
                    #expect(data.readWebSocketErrorCode() == .messageTooLarge)
                }

                let fragmented = try await Self.connect(gateway, arn: arn)
                try await fragmented.executeThenClose { inbound, outbound in
                    var frames = inbound.makeAsyncIterator()
                    let piece = ByteBuffer(string: String(repeating: "y", count: 1000))
                    try await outbound.write(WebSocketFrame(fin: false, opcode: .text, maskKey: .random(), data: piece))
                    for _ in 0..<4 {
                        try await outbound.write(WebSocketFrame(fin: false, opcode: .continuation, maskKey: .random(), data: piece))
                    }
                    var sawClose = false
                    while let frame = try await frames.next() {
                        if frame.opcode == .connectionClose {
                            var data = frame.unmaskedData
                            #expect(data.readWebSocketErrorCode() == .messageTooLarge)
                            sawClose = true
                            break
                        }
                    }
                    #expect(sawClose)
                }
            }
        }
    }

    @Test("refused upgrades answer with the AgentCore error, not a 101")
    func refusedUpgrades() async throws {
        try await withTestAgent({ _, _ in }) { agentWithoutWebSocket, _ in
            try await withTestAgent(Self.configureAgent) { agentURL, recorder in
                try await TestGateway.run { gateway in
                    let arn = try await gateway.registerAgent(name: "sockets", url: agentURL)
                    let noSocket = try await gateway.registerAgent(name: "nosocket", url: agentWithoutWebSocket)
                    func upgrade(_ target: String, authorization: String?) async throws -> String {
                        try await RawConnection.with(port: gateway.port) { connection in
                            var request = "GET /runtimes/\(PercentEncoding.encodeSegment(target))/ws HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            request += "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                            if let authorization { request += "Authorization: \(authorization)\r\n" }
                            try await connection.send(request + "\r\n")
                            return try await connection.receive(until: { $0.contains("}") || $0.contains("\r\n\r\n") && $0.hasPrefix("HTTP/1.1 101") })
                        }
                    }
                    let missing = try await upgrade(arn, authorization: nil)
                    #expect(missing.hasPrefix("HTTP/1.1 401"))
                    #expect(missing.contains("UnauthorizedException"))
                    let wrong = try await upgrade(arn, authorization: "Bearer pcs_aaaaaaaaaaaa_" + String(repeating: "b", count: 40))
                    #expect(wrong.hasPrefix("HTTP/1.1 401"))
                    let unknown = try await upgrade(arn + "zz", authorization: "Bearer \(gateway.invokeKey)")
                    #expect(unknown.hasPrefix("HTTP/1.1 404"))
                    let refusedByAgent = try await upgrade(noSocket, authorization: "Bearer \(gateway.invokeKey)")
                    #expect(refusedByAgent.hasPrefix("HTTP/1.1 424"))
                    #expect(refusedByAgent.contains("RuntimeClientError"))
                    let accepted = try await upgrade(arn, authorization: "Bearer \(gateway.invokeKey)")
                    #expect(accepted.hasPrefix("HTTP/1.1 101"))
                    #expect(accepted.contains("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"))
                    #expect(recorder.count == 1, "only the accepted upgrade reached the agent")
                }
            }
        }
    }

    @Test("browsers authenticate through the subprotocol, and presigned-style query parameters become headers")
    func subprotocolAndQueryHeaders() async throws {
        try await withTestAgent(Self.configureAgent) { agentURL, recorder in
            try await TestGateway.run { gateway in
                let arn = try await gateway.registerAgent(name: "sockets", url: agentURL)
                let token = Data(gateway.invokeKey.utf8).base64EncodedString()
                    .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
                let sessionId = SecureRandom.uuid() + "-query"
                let response = try await RawConnection.with(port: gateway.port) { connection in
                    var request = "GET /runtimes/\(PercentEncoding.encodeSegment(arn))/ws"
                    request += "?X-Amzn-Bedrock-AgentCore-Runtime-Session-Id=\(sessionId)&X-Amzn-Bedrock-AgentCore-Runtime-Custom-Mode=fast HTTP/1.1\r\n"
                    request += "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                    request += "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    request += "Sec-WebSocket-Protocol: base64UrlBearerAuthorization.\(token), base64UrlBearerAuthorization\r\n\r\n"
                    try await connection.send(request)
                    return try await connection.receive(until: { $0.contains("\r\n\r\n") })
                }
                #expect(response.hasPrefix("HTTP/1.1 101"))
                #expect(response.contains("Sec-WebSocket-Protocol: base64UrlBearerAuthorization"))
                #expect(response.contains(sessionId))
                let upgrade = try #require(recorder.requests.first?.headers)
                #expect(upgrade[HTTPField.Name("X-Amzn-Bedrock-AgentCore-Runtime-Custom-Mode")!] == "fast")
                #expect(upgrade[HTTPField.Name("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id")!] == sessionId)
                #expect(upgrade[.secWebSocketProtocol] == nil, "the credential never reaches the agent")
            }
        }
    }
}
