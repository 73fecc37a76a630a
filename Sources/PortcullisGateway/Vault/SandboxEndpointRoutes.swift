import Foundation
import HTTPTypes
import PortcullisCore
import PortcullisSessions
import Tracing

/// What the gateway endpoint inside each sandbox answers (``SandboxEndpointAddress``): the token vault's reads,
/// on their AgentCore paths, so the `bedrock-agentcore` SDK's decorators work unmodified, and — with tracing on —
/// an OTLP/HTTP span receiver (`POST /v1/traces`). The caller is the sandbox's agent; its requests are signed with
/// placeholder credentials the endpoint does not check — where the connection comes from, and the workload access
/// token, are what count.
struct SandboxEndpointRoutes: Sendable {
    let vault: VaultDataPlane
    let tracing: GatewayTracing
    let traces: SandboxTraceIndex
    /// The receiver for agents' spans; `nil` when tracing is off or `tracing.agentReceiver` is false.
    let exporter: AgentSpanExporter?

    func handle(_ request: SandboxEndpointRequest) async -> SandboxEndpointResponse {
        let requestId = RequestIdentifier.next()
        let path = String(request.target.prefix { $0 != "?" })
        if path == "/v1/traces", request.method == "POST", let exporter {
            return await receiveSpans(request, exporter: exporter, requestId: requestId)
        }
        guard let operation = Self.operations[path], request.method == "POST" else {
            return Self.failure(AgentCoreError(.unknownOperation, "No operation at \(request.method) \(path) in the sandbox endpoint"), requestId: requestId)
        }
        // With tracing, the vault call is a span: under the agent's own span when it sent a `traceparent`, else
        // under the invocation its session is answering.
        guard let span = startSpan(operation, request) else {
            return await answer(operation, request, requestId: requestId)
        }
        let response = await tracing.within(span) { await answer(operation, request, requestId: requestId) }
        span.attributes["http.response.status_code"] = response.status
        if response.status >= 400 { span.setStatus(SpanStatus(code: .error, message: response.headers.first { $0.name == "X-Amzn-ErrorType" }?.value)) }
        span.end()
        return response
    }

    private enum Operation: String {
        case getResourceApiKey = "GetResourceApiKey"
        case getResourceOauth2Token = "GetResourceOauth2Token"
    }

    private static let operations: [String: Operation] = [
        "/identities/api-key": .getResourceApiKey,
        "/identities/oauth2/token": .getResourceOauth2Token,
    ]

    private func answer(_ operation: Operation, _ request: SandboxEndpointRequest, requestId: String) async -> SandboxEndpointResponse {
        do throws(AgentCoreError) {
            let fields = try RequestFields(body: Data(request.body))
            let caller = AccessPolicy.Caller(requestId: requestId, sourceAddress: nil, headers: HTTPFields())
            let origin = VaultDataPlane.Origin.sandbox(runtimeId: request.runtimeId)
            let result: JSONValue
            switch operation {
            case .getResourceApiKey:
                result = try await vault.resourceAPIKey(fields, origin: origin, caller: caller)
            case .getResourceOauth2Token:
                result = try await vault.resourceOAuth2Token(fields, origin: origin, caller: caller)
            }
            return SandboxEndpointResponse(
                status: 200, headers: [("Content-Type", "application/json"), ("x-amzn-RequestId", requestId)], body: result.serialized()
            )
        } catch {
            return Self.failure(error, requestId: requestId)
        }
    }

    private func startSpan(_ operation: Operation, _ request: SandboxEndpointRequest) -> (any Span)? {
        guard tracing.isEnabled else { return nil }
        let session = traces.session(inSandbox: request.sandboxId)
        let parent = tracing.extract(Self.fields(request.headers)) ?? session?.invocation
        guard let span = tracing.startSpan("vault \(operation.rawValue)", parent: parent, kind: .server) else { return nil }
        var attributes = span.attributes
        attributes["rpc.method"] = operation.rawValue
        attributes["gen_ai.agent.id"] = request.runtimeId
        if let session { attributes["session.id"] = session.sessionId }
        span.attributes = attributes
        return span
    }

    /// An agent's span export, tagged with the sandbox's session and agent runtime, sent on to the collector.
    private func receiveSpans(_ request: SandboxEndpointRequest, exporter: AgentSpanExporter, requestId: String) async -> SandboxEndpointResponse {
        var tags: [(key: String, value: String)] = [("portcullis.agent_runtime.id", request.runtimeId)]
        if let session = traces.session(inSandbox: request.sandboxId) {
            tags.append(("portcullis.session.id", session.sessionId))
        }
        let header = { (name: String) in request.headers.first { $0.name.lowercased() == name }?.value }
        let answer = await exporter.export(request.body, contentType: header("content-type"), contentEncoding: header("content-encoding"), tags: tags)
        var headers = [("x-amzn-RequestId", requestId)]
        if let contentType = answer.contentType { headers.append(("Content-Type", contentType)) }
        return SandboxEndpointResponse(status: answer.status, headers: headers, body: answer.body)
    }

    private static func fields(_ headers: [(name: String, value: String)]) -> HTTPFields {
        var fields = HTTPFields()
        for header in headers {
            guard let name = HTTPField.Name(header.name) else { continue }
            fields.append(HTTPField(name: name, value: header.value))
        }
        return fields
    }

    private static func failure(_ error: AgentCoreError, requestId: String) -> SandboxEndpointResponse {
        SandboxEndpointResponse(
            status: error.code.httpStatus,
            headers: [("Content-Type", "application/json"), ("X-Amzn-ErrorType", error.code.rawValue), ("x-amzn-RequestId", requestId)],
            body: Array(error.envelopeJSON())
        )
    }
}
