import Foundation
import HTTPTypes
public import Hummingbird
import HummingbirdWebSocket
public import Logging
import NIOCore

/// A small agent that serves the AgentCore container contract and echoes what it receives. It is what
/// `portcullis dev` registers, and a handy target when checking what the gateway forwards.
///
/// - `POST /invocations`: answers `{"echo": <input>, "sessionId": …, "requestId": …, "headers": {…}}` with every
///   request header it received. With `{"stream": true}` in the input (optionally `"count"` and `"intervalMs"`)
///   it answers as Server-Sent Events, one `data:` frame per step.
/// - `GET /ping`: `{"status": "Healthy", "time_of_last_update": <unix seconds>}`.
/// - `GET /.well-known/agent-card.json`: an A2A agent card.
/// - `/ws`: echoes every text and binary message.
public enum EchoAgent {
    /// The echo agent's application, listening on `host:port`.
    public static func makeApplication(
        host: String,
        port: Int,
        logger: Logger,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router(context: BasicWebSocketRequestContext.self)
        let startedAt = Int(Date().timeIntervalSince1970)
        router.get("/ping") { _, _ in
            json(["status": "Healthy", "time_of_last_update": startedAt])
        }
        router.get("/.well-known/agent-card.json") { _, _ in
            json([
                "name": "echo", "description": "Echoes its input", "version": "1.0.0", "url": "http://\(host):\(port)/",
                "capabilities": ["streaming": true], "defaultInputModes": ["text"], "defaultOutputModes": ["text"],
                "skills": [["id": "echo", "name": "Echo", "description": "Returns what it is sent", "tags": ["echo"]]],
            ])
        }
        router.post("/invocations") { request, _ in
            let body = try await request.body.collect(upTo: 16 * 1024 * 1024)
            let input = (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView), options: [.fragmentsAllowed]))
                ?? String(decoding: body.readableBytesView, as: UTF8.self)
            var headers: [String: String] = [:]
            for field in request.headers {
                headers[field.name.canonicalName] = headers[field.name.canonicalName].map { "\($0), \(field.value)" } ?? field.value
            }
            let reply: [String: Any] = [
                "echo": input,
                "sessionId": request.headers[HTTPField.Name("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id")!] ?? NSNull(),
                "requestId": request.headers[HTTPField.Name("X-Amzn-Bedrock-AgentCore-Runtime-Request-Id")!] ?? NSNull(),
                "headers": headers,
            ]
            guard let object = input as? [String: Any], object["stream"] as? Bool == true else {
                return json(reply)
            }
            let count = min(max(object["count"] as? Int ?? 5, 1), 1000)
            let interval = min(max(object["intervalMs"] as? Int ?? 100, 0), 60_000)
            let echoed = encode(["echo": input, "sessionId": reply["sessionId"] ?? NSNull()]).dropFirst()
            var responseHeaders = HTTPFields()
            responseHeaders[.contentType] = "text/event-stream"
            responseHeaders[.cacheControl] = "no-cache"
            return Response(
                status: .ok,
                headers: responseHeaders,
                body: ResponseBody { writer in
                    for index in 0..<count {
                        try await writer.write(ByteBuffer(string: "data: {\"index\":\(index),\(echoed)\n\n"))
                        if interval > 0, index + 1 < count { try await Task.sleep(for: .milliseconds(interval)) }
                    }
                    try await writer.write(ByteBuffer(string: "data: {\"done\": true}\n\n"))
                    try await writer.finish(nil)
                }
            )
        }
        router.ws("/ws") { inbound, outbound, _ in
            var messages = inbound.messages(maxSize: 16 * 1024 * 1024).makeAsyncIterator()
            while let message = try await messages.next() {
                switch message {
                case .text(let text): try await outbound.write(.text(text))
                case .binary(let buffer): try await outbound.write(.binary(buffer))
                }
            }
        }
        return Application(
            router: router,
            server: .http1WebSocketUpgrade(webSocketRouter: router, configuration: .init(ws: .init(maxFrameSize: 1 << 20))),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port)),
            onServerRunning: onServerRunning,
            logger: logger
        )
    }

    static func json(_ object: [String: Any]) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: encode(object))))
    }

    static func encode(_ object: [String: Any]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .fragmentsAllowed])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
