import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import NIOCore
import Synchronization

/// What a test agent saw.
final class RequestRecorder: Sendable {
    struct Recorded: Sendable {
        var method: HTTPRequest.Method
        var path: String
        var headers: HTTPFields
        var bodyBytes: Int
    }

    private let storage = Mutex<[Recorded]>([])

    func record(_ request: Recorded) {
        storage.withLock { $0.append(request) }
    }

    var requests: [Recorded] { storage.withLock { $0 } }
    var count: Int { storage.withLock { $0.count } }
}

typealias AgentRouter = Router<BasicWebSocketRequestContext>

/// Runs an agent on a loopback port whose routes the test defines, for the duration of `body`.
func withTestAgent<T: Sendable>(
    _ configure: (AgentRouter, RequestRecorder) -> Void,
    _ body: (_ url: String, RequestRecorder) async throws -> T
) async throws -> T {
    let recorder = RequestRecorder()
    let router = AgentRouter(context: BasicWebSocketRequestContext.self)
    configure(router, recorder)
    return try await withRunningApplication({ onRunning in
        Application(
            router: router,
            server: .http1WebSocketUpgrade(webSocketRouter: router, configuration: .init(ws: .init(maxFrameSize: 1 << 20))),
            configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: onRunning,
            logger: testLogger
        )
    }) { port in
        try await body("http://127.0.0.1:\(port)", recorder)
    }
}

extension AgentRouter {
    /// `POST /invocations` that records the request and answers with the headers it received as JSON.
    func addRecordingInvocations(_ recorder: RequestRecorder, path: String = "/invocations") {
        post(RouterPath(stringLiteral: path)) { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            recorder.record(.init(method: request.method, path: request.uri.path, headers: request.headers, bodyBytes: body.readableBytes))
            var headers: [String: String] = [:]
            for field in request.headers {
                headers[field.name.canonicalName] = headers[field.name.canonicalName].map { "\($0), \(field.value)" } ?? field.value
            }
            let object: [String: Any] = ["headers": headers, "body": String(buffer: body)]
            let data = try JSONSerialization.data(withJSONObject: object)
            return Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: data))
            )
        }
    }
}
