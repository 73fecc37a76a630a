import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import PortcullisCore
import PortcullisIdentity
import PortcullisSessions

/// The data plane over HTTP: InvokeAgentRuntime, GetAgentCard and StopRuntimeSession.
struct InvocationController: Sendable {
    /// Bodies with a `Content-Length` up to this size are read whole before forwarding (requests) or answering
    /// (responses), so they travel in one write; larger or chunked ones stream.
    static let bufferedBodyLimit = 256 * 1024

    let gate: InvocationGate
    let sessions: SessionDirectory
    let upstream: UpstreamClient
    let connections: ConnectionRegistry
    let limits: LimitsConfiguration
    let maxStreamDuration: Duration
    let isTLS: Bool
    let logger: Logger

    func register(on router: Router<GatewayRequestContext>) {
        router.post("/runtimes/:runtime/invocations", use: invoke)
        router.get("/runtimes/:runtime/invocations/.well-known/agent-card.json", use: agentCard)
        router.post("/runtimes/:runtime/stopruntimesession", use: stopSession)
        router.get("/runtimes/:runtime/ws", use: webSocketWithoutUpgrade)
    }

    // MARK: - Operations

    /// `POST /runtimes/{arn}/invocations`: the body streams to the agent's protocol path and the answer streams back.
    @Sendable func invoke(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        var facts = request.credentialFacts()
        var prepared: UpstreamClient.Body?
        if InboundCredential.isHeaderSignedV4(request.headers) {
            // The signature covers the body's hash: the whole body is read (and checked) before the agent sees any.
            try await gate.precheckSignature(facts)
            let spooled = try await SpooledRequestBody.read(request.body, limit: limits.maxPayloadBytes)
            facts.payloadHash = spooled.sha256
            prepared = spooled.upstreamBody
        }
        let admitted = try await admit(facts, context: context)
        let configuration = admitted.resolved.configuration
        return try await forward(
            request,
            context: context,
            admitted: admitted,
            method: .POST,
            path: configuration.protocolConfiguration.invocationPath,
            passNonSuccess: configuration.protocolConfiguration.serverProtocol == .mcp
                || configuration.protocolConfiguration.serverProtocol == .a2a,
            body: prepared
        )
    }

    /// `GET /runtimes/{arn}/invocations/.well-known/agent-card.json`: the A2A agent card.
    @Sendable func agentCard(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let admitted = try await admit(request.credentialFacts(payloadHash: SignedRequest.emptyPayloadHash), context: context)
        return try await forward(
            request,
            context: context,
            admitted: admitted,
            method: .GET,
            path: "/.well-known/agent-card.json",
            passNonSuccess: false,
            body: UpstreamClient.Body.none
        )
    }

    /// `POST /runtimes/{arn}/stopruntimesession`: ends the caller's session now.
    @Sendable func stopSession(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let body = try await request.body.collect(upTo: limits.maxControlPlaneBodyBytes)
        let admitted = try await admit(request.credentialFacts(payloadHash: Hex.encode(SHA256.hash(data: body.readableBytesView))), context: context)
        guard let sessionId = request.headers[.runtimeSessionId] else {
            throw AgentCoreError.invalidField("runtimeSessionId", "Member is required")
        }
        guard RuntimeSessionId.isValid(sessionId) else {
            throw AgentCoreError.invalidField("runtimeSessionId", "Member must be 33-256 characters of letters, digits, '-', '_', '.' or ':'")
        }
        if body.readableBytes > 0 {
            guard let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any] else {
                throw AgentCoreError.cannotParse("The request body must be a JSON object")
            }
            if let token = object["clientToken"] {
                guard let token = token as? String, ClientToken.isValid(token) else {
                    throw AgentCoreError.invalidField("clientToken", "Member must be 33-256 characters matching [a-zA-Z0-9](-*[a-zA-Z0-9]){0,256}")
                }
            }
        }
        try sessions.stop(runtimeId: admitted.resolved.runtime.id, sessionId: sessionId, principalId: admitted.principal.sessionOwner)
        logger.info(
            "runtime session stopped",
            metadata: ["agent": "\(admitted.resolved.runtime.name)", "session_id": "\(sessionId)", "principal": "\(admitted.principal.id)"]
        )
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.runtimeSessionId] = sessionId
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: "{}")))
    }

    /// `GET /runtimes/{arn}/ws` that reached the router: not an upgrade, or an upgrade on a connection that already
    /// carried a request (the upgrade is negotiated only on a connection's first request).
    @Sendable func webSocketWithoutUpgrade(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try await admit(request.credentialFacts(payloadHash: SignedRequest.emptyPayloadHash), context: context)
        throw AgentCoreError(
            .validation,
            "This path accepts only WebSocket upgrades as the first request on a connection",
            reason: .cannotParse
        )
    }

    // MARK: - Forwarding

    private func admit(_ facts: RequestFacts, context: GatewayRequestContext) async throws(AgentCoreError) -> AdmittedInvocation {
        guard let target = context.parameters.get("runtime", as: Substring.self) else {
            throw AgentCoreError.invalidField("agentRuntimeArn", "Member is required")
        }
        return try await gate.admit(facts, rawTarget: target, query: QueryParameters(facts.rawQuery))
    }

    private func forward(
        _ request: Request,
        context: GatewayRequestContext,
        admitted: AdmittedInvocation,
        method: HTTPMethod,
        path: String,
        passNonSuccess: Bool,
        body prepared: UpstreamClient.Body?
    ) async throws -> Response {
        let resolved = admitted.resolved
        let serverProtocol = resolved.configuration.protocolConfiguration.serverProtocol
        let lease = try sessions.begin(
            runtimeId: resolved.runtime.id,
            requestedSessionId: Self.requestedSessionId(request.headers, serverProtocol: serverProtocol),
            principalId: admitted.principal.sessionOwner,
            lifecycle: resolved.configuration.lifecycle
        )
        let hold = SessionHold(lease: lease, directory: sessions)
        let headers = try ForwardedHeaders.upstreamRequestHeaders(
            from: request.headers,
            allowlisted: resolved.allowlistedHeaders,
            context: ForwardedHeaders.Context(
                sessionId: lease.sessionId,
                requestId: context.requestId,
                clientAddress: context.channel.remoteAddress?.ipAddress,
                isTLS: isTLS,
                host: request.head.authority,
                maxValueBytes: limits.maxForwardedHeaderBytes
            )
        )
        var body = prepared ?? UpstreamClient.Body.none
        if prepared == nil, method == .POST {
            let declaredLength = request.headers[.contentLength].flatMap { Int($0) }
            if let declaredLength, declaredLength <= Self.bufferedBodyLimit {
                // Small bodies (most invocations) are read first and sent with the head in one write.
                body = .bytes(try await request.body.collect(upTo: declaredLength))
            } else {
                body = .stream(LimitedRequestBody(base: request.body, limit: limits.maxPayloadBytes), length: declaredLength)
            }
        }
        let response = try await upstream.send(
            method: method,
            path: path,
            to: resolved.upstream,
            headers: headers,
            body: body,
            on: context.channel.eventLoop,
            abandonWhenClosed: connections.connection(for: context.channel)
        )
        logger.debug(
            "agent answered",
            metadata: [
                "agent": "\(resolved.runtime.name)", "status": "\(response.head.status.code)", "request_id": "\(context.requestId)",
                "session_id": "\(lease.sessionId)",
            ]
        )
        guard (200..<300).contains(response.head.status.code) || passNonSuccess else {
            throw await Self.agentError(response)
        }
        var responseHeaders = ForwardedHeaders.clientResponseHeaders(
            from: response.head.headers,
            sessionId: lease.sessionId,
            requestId: context.requestId
        )
        if serverProtocol == .mcp, responseHeaders[.mcpSessionId] == nil {
            // The platform issues the MCP session id when the server does not, and maps it back to this session.
            responseHeaders[.mcpSessionId] = lease.sessionId
        }
        let contentLength = response.head.headers.first(name: "content-length").flatMap { Int($0) }
        let status = HTTPResponse.Status(code: Int(response.head.status.code))
        if let contentLength, contentLength <= Self.bufferedBodyLimit {
            // A small, complete answer goes out in one write (head, body and end together).
            let buffer = try await response.body.collect(upTo: contentLength)
            return Response(status: status, headers: responseHeaders, body: ResponseBody(byteBuffer: buffer))
        }
        let maxStreamDuration = maxStreamDuration
        let responseBody = ResponseBody(contentLength: contentLength) { writer in
            let deadline = ContinuousClock.now + maxStreamDuration
            var iterator = response.body.makeAsyncIterator()
            while let chunk = try await iterator.next() {
                guard ContinuousClock.now < deadline else { throw AgentCoreError(.runtimeClientError, "The stream exceeded its time limit") }
                try await writer.write(chunk)
            }
            try await writer.finish(nil)
            withExtendedLifetime((hold, response)) {}
        }
        return Response(status: status, headers: responseHeaders, body: responseBody)
    }

    /// The session a request continues: the runtime session header, or for MCP runtimes the `Mcp-Session-Id`
    /// (mapped to a valid session id when the server chose another format).
    static func requestedSessionId(_ headers: HTTPFields, serverProtocol: ServerProtocol) -> String? {
        if let sessionId = headers[.runtimeSessionId] { return sessionId }
        guard serverProtocol == .mcp, let mcpSessionId = headers[.mcpSessionId] else { return nil }
        if RuntimeSessionId.isValid(mcpSessionId) { return mcpSessionId }
        let digest = Hex.encode(SHA256.hash(data: Array(mcpSessionId.utf8)))
        return "mcp-" + digest.prefix(40)
    }

    /// A non-2xx answer from an HTTP agent, as `RuntimeClientError` with its status and the start of its body.
    static func agentError(_ response: UpstreamResponse) async -> AgentCoreError {
        var collected = ByteBuffer()
        do {
            for try await chunk in response.body {
                collected.writeImmutableBuffer(chunk)
                if collected.readableBytes >= 1024 { break }
            }
        } catch {
            // What arrived before the failure is still worth showing.
        }
        let text = String(decoding: collected.readableBytesView.prefix(1024), as: UTF8.self)
        let snippet = String(String.UnicodeScalarView(text.unicodeScalars.filter { $0.value >= 0x20 || $0 == "\t" }))
        let suffix = snippet.isEmpty ? "" : ": \(snippet)"
        return AgentCoreError(.runtimeClientError, "Received error (\(response.head.status.code)) from the agent runtime\(suffix)")
    }
}
