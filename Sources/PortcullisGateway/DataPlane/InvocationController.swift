import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import PortcullisCore
import PortcullisIdentity
import PortcullisPolicy
import PortcullisSessions
import PortcullisVault
import Tracing

/// The data plane over HTTP: InvokeAgentRuntime, GetAgentCard and StopRuntimeSession.
struct InvocationController: Sendable {
    /// Bodies with a `Content-Length` up to this size are read whole before forwarding (requests) or answering
    /// (responses), so they travel in one write; larger or chunked ones stream.
    static let bufferedBodyLimit = 256 * 1024

    let gate: InvocationGate
    let sessions: AgentSessions
    let upstream: UpstreamClient
    let connections: ConnectionRegistry
    let limits: LimitsConfiguration
    let maxStreamDuration: Duration
    let isTLS: Bool
    let workloadTokens: WorkloadAccessTokens
    let clock: any WallClock
    let metrics: GatewayMetrics
    let tracing: GatewayTracing
    let traceIndex: SandboxTraceIndex
    let logger: Logger

    func register(on router: Router<GatewayRequestContext>) {
        router.post("/runtimes/:runtime/invocations", use: invoke)
        router.get("/runtimes/:runtime/invocations/.well-known/agent-card.json", use: agentCard)
        router.post("/runtimes/:runtime/stopruntimesession", use: stopSession)
        router.get("/runtimes/:runtime/invocations", use: mcpListeningStream)
        router.delete("/runtimes/:runtime/invocations", use: endMCPSession)
        router.get("/runtimes/:runtime/ws", use: webSocketWithoutUpgrade)
    }

    // MARK: - Operations

    /// `POST /runtimes/{arn}/invocations`: the body streams to the agent's protocol path and the answer streams back.
    @Sendable func invoke(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        var facts = request.credentialFacts()
        var spooled: SpooledRequestBody?
        if InboundCredential.isHeaderSignedV4(request.headers) {
            // The signature covers the body's hash: the whole body is read (and checked) before the agent sees any.
            try await gate.precheckSignature(facts)
            spooled = try await SpooledRequestBody.read(request.body, limit: limits.maxPayloadBytes)
            facts.payloadHash = spooled?.sha256
        }
        var prepared = spooled?.upstreamBody
        let admitted = try await identify(facts, context: context)
        let configuration = admitted.resolved.configuration
        let caller = self.caller(request, context: context)
        var forwardSpanName = "forward"
        if configuration.protocolConfiguration.serverProtocol == .mcp {
            // The JSON-RPC calls are authorized one by one before the agent sees any of them.
            let body = try await mcpBody(request, spooled: spooled)
            let messages = try MCPMessages.messages(in: body)
            if let call = describeMCP(messages) { forwardSpanName = call }
            let refusal = try await stage(.authorization) { span throws(AgentCoreError) in
                span?.attributes["portcullis.policy.action"] = "InvokeAgent"
                return try authorizeMCP(messages, admitted: admitted, caller: caller)
            }
            if let refusal { return refusal }
            prepared = .bytes(body)
        } else {
            try await authorize(admitted, .invokeAgent, caller: caller)
        }
        return try await forward(
            request,
            context: context,
            admitted: admitted,
            method: .POST,
            path: configuration.protocolConfiguration.invocationPath,
            passNonSuccess: configuration.protocolConfiguration.serverProtocol == .mcp
                || configuration.protocolConfiguration.serverProtocol == .a2a,
            body: prepared,
            spanName: forwardSpanName
        )
    }

    /// The MCP attributes of the invocation's span (OpenTelemetry's MCP and GenAI conventions) for a request of one
    /// call; returns the forwarding span's name for it (`tools/call get_weather`), `nil` for a batch or no call.
    private func describeMCP(_ messages: [MCPMessages.Message]) -> String? {
        guard tracing.isEnabled, messages.count == 1, let call = messages.first?.call else { return nil }
        guard let span = tracing.currentSpan else { return nil }
        var attributes = span.attributes
        attributes["mcp.method.name"] = call.method
        if let tool = call.tool {
            attributes["gen_ai.tool.name"] = tool
            attributes["gen_ai.operation.name"] = "execute_tool"
        }
        span.attributes = attributes
        return call.tool.map { "\(call.method) \($0)" } ?? call.method
    }

    /// `GET /runtimes/{arn}/invocations/.well-known/agent-card.json`: the A2A agent card.
    @Sendable func agentCard(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let admitted = try await admit(request.credentialFacts(payloadHash: SignedRequest.emptyPayloadHash), .invokeAgent, context: context)
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
        let admitted = try await admit(
            request.credentialFacts(payloadHash: Hex.encode(SHA256.hash(data: body.readableBytesView))), .stopSession, context: context
        )
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
        try await sessions.stop(admitted.resolved, sessionId: sessionId, principalId: admitted.principal.sessionOwner)
        logger.info(
            "runtime session stopped",
            metadata: ["agent": "\(admitted.resolved.runtime.name)", "session_id": "\(sessionId)", "principal": "\(admitted.principal.id)"]
        )
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.runtimeSessionId] = sessionId
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: "{}")))
    }

    /// `GET /runtimes/{arn}/invocations`: an MCP client asking for a server-to-client stream outside a request. The
    /// runtime's MCP servers are reached request by request (AgentCore runs them stateless), so the answer is the
    /// 405 Streamable HTTP prescribes for servers without that stream, and clients carry on without it.
    @Sendable func mcpListeningStream(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let admitted = try await admit(request.credentialFacts(payloadHash: SignedRequest.emptyPayloadHash), .invokeAgent, context: context)
        guard admitted.resolved.configuration.protocolConfiguration.serverProtocol == .mcp else {
            throw AgentCoreError(.unknownOperation, "GET on invocations is only the MCP listening stream; invoke with POST")
        }
        var headers = HTTPFields()
        headers[.allow] = "POST, DELETE"
        return Response(status: .methodNotAllowed, headers: headers)
    }

    /// `DELETE /runtimes/{arn}/invocations` with `Mcp-Session-Id`: an MCP client ending its session, which ends the
    /// runtime session (and its sandbox) as StopRuntimeSession would.
    @Sendable func endMCPSession(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let admitted = try await admit(request.credentialFacts(payloadHash: SignedRequest.emptyPayloadHash), .stopSession, context: context)
        guard admitted.resolved.configuration.protocolConfiguration.serverProtocol == .mcp else {
            throw AgentCoreError(.unknownOperation, "DELETE on invocations only ends MCP sessions; use StopRuntimeSession")
        }
        guard let sessionId = Self.requestedSessionId(request.headers, serverProtocol: .mcp) else {
            throw AgentCoreError.invalidField("Mcp-Session-Id", "The header is required to end an MCP session")
        }
        guard RuntimeSessionId.isValid(sessionId) else {
            throw AgentCoreError.invalidField("runtimeSessionId", "Member must be 33-256 characters of letters, digits, '-', '_', '.' or ':'")
        }
        try await sessions.stop(admitted.resolved, sessionId: sessionId, principalId: admitted.principal.sessionOwner)
        logger.info("MCP session ended by its client", metadata: ["agent": "\(admitted.resolved.runtime.name)", "session_id": "\(sessionId)"])
        return Response(status: .noContent)
    }

    /// `GET /runtimes/{arn}/ws` that reached the router: not an upgrade, or an upgrade on a connection that already
    /// carried a request (the upgrade is negotiated only on a connection's first request).
    @Sendable func webSocketWithoutUpgrade(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try await admit(request.credentialFacts(payloadHash: SignedRequest.emptyPayloadHash), .streamAgent, context: context)
        throw AgentCoreError(
            .validation,
            "This path accepts only WebSocket upgrades as the first request on a connection",
            reason: .cannotParse
        )
    }

    // MARK: - Forwarding

    private func admit(_ facts: RequestFacts, _ action: GatewayAction, context: GatewayRequestContext) async throws(AgentCoreError) -> AdmittedInvocation {
        let admitted = try await identify(facts, context: context)
        try await authorize(admitted, action, caller: caller(facts.headers, context: context))
        return admitted
    }

    /// The policy decision for `action`, as the authorization stage.
    private func authorize(_ admitted: AdmittedInvocation, _ action: GatewayAction, caller: AccessPolicy.Caller) async throws(AgentCoreError) {
        try await stage(.authorization) { span throws(AgentCoreError) in
            span?.attributes["portcullis.policy.action"] = action.rawValue
            try gate.authorize(admitted, action, caller: caller)
        }
    }

    /// The steps of an invocation: each one's duration is recorded when it succeeds, and with tracing each is a
    /// span under the request's.
    enum Stage: String {
        case authentication, authorization, session, forward

        var spanName: String {
            switch self {
            case .authentication: "authenticate"
            case .authorization: "authorize"
            case .session: "session.acquire"
            case .forward: "forward"
            }
        }
    }

    private func stage<Value, Failure: Error>(
        _ stage: Stage,
        spanName: String? = nil,
        kind: SpanKind = .internal,
        _ body: ((any Span)?) async throws(Failure) -> Value
    ) async throws(Failure) -> Value {
        let (value, span) = try await openStage(stage, spanName: spanName, kind: kind, body)
        span?.end()
        return value
    }

    /// A stage whose span the caller ends (forwarding a streamed answer lasts as long as the stream); its duration
    /// is recorded when `body` returns.
    private func openStage<Value, Failure: Error>(
        _ stage: Stage,
        spanName: String? = nil,
        kind: SpanKind = .internal,
        _ body: ((any Span)?) async throws(Failure) -> Value
    ) async throws(Failure) -> (Value, (any Span)?) {
        let started = ContinuousClock.now
        let result = try await tracing.withOpenSpan(spanName ?? stage.spanName, kind: kind, body)
        metrics.observe(.stageDuration, stage.rawValue, since: started)
        return result
    }

    private func identify(_ facts: RequestFacts, context: GatewayRequestContext) async throws(AgentCoreError) -> AdmittedInvocation {
        guard let target = context.parameters.get("runtime", as: Substring.self) else {
            throw AgentCoreError.invalidField("agentRuntimeArn", "Member is required")
        }
        let admitted = try await stage(.authentication) { span throws(AgentCoreError) in
            let admitted = try await gate.identify(facts, rawTarget: target, query: QueryParameters(facts.rawQuery))
            if let span {
                var attributes = span.attributes
                attributes["user.id"] = admitted.principal.id
                attributes["gen_ai.agent.id"] = admitted.resolved.runtime.id
                attributes["gen_ai.agent.name"] = admitted.resolved.runtime.name
                span.attributes = attributes
            }
            return admitted
        }
        context.observation.agentRuntimeId = admitted.resolved.runtime.id
        return admitted
    }

    private func caller(_ request: Request, context: GatewayRequestContext) -> AccessPolicy.Caller {
        caller(request.headers, context: context)
    }

    private func caller(_ headers: HTTPFields, context: GatewayRequestContext) -> AccessPolicy.Caller {
        AccessPolicy.Caller(
            requestId: context.requestId,
            sourceAddress: context.channel.remoteAddress?.ipAddress,
            headers: headers,
            sessionId: headers[.runtimeSessionId] ?? headers[.mcpSessionId]
        )
    }

    /// Every call must be allowed: each as `InvokeAgent` with its method, and `tools/call` also as `CallTool` with
    /// its tool. A body of responses only (no method) is an `InvokeAgent` without `mcp`.
    ///
    /// A refusal is an `AccessDeniedException` (HTTP 403), except for a single tool call by a caller allowed to
    /// talk to the agent: that one is answered as a JSON-RPC error (HTTP 200), the answer to that call alone,
    /// so the client's MCP session survives a tool it may not use. Returns that answer.
    private func authorizeMCP(_ messages: [MCPMessages.Message], admitted: AdmittedInvocation, caller: AccessPolicy.Caller) throws(AgentCoreError) -> Response? {
        guard !messages.isEmpty else {
            try gate.authorize(admitted, .invokeAgent, caller: caller)
            return nil
        }
        for message in messages {
            try gate.authorize(admitted, .invokeAgent, caller: caller, mcp: message.call)
            guard message.call.tool != nil else { continue }
            do {
                try gate.authorize(admitted, .callTool, caller: caller, mcp: message.call)
            } catch {
                guard messages.count == 1, let id = message.id else { throw error }
                var headers = HTTPFields()
                headers[.contentType] = "application/json"
                if let session = caller.sessionId { headers[.mcpSessionId] = session }
                return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: MCPMessages.accessDenied(id: id)))
            }
        }
        return nil
    }

    /// The whole body of a request to an MCP runtime, within `limits.maxMcpRequestBytes`.
    private func mcpBody(_ request: Request, spooled: SpooledRequestBody?) async throws -> ByteBuffer {
        let limit = limits.maxMcpRequestBytes
        let tooLarge = AgentCoreError(.validation, "A request to an MCP runtime may be at most \(limit) bytes")
        if let spooled {
            guard spooled.length <= limit else { throw tooLarge }
            switch spooled.storage {
            case .memory(let buffer): return buffer
            case .file(let file): return try await file.read(at: 0, count: spooled.length)
            }
        }
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit { throw tooLarge }
        var collected = ByteBuffer()
        for try await chunk in request.body {
            guard collected.readableBytes + chunk.readableBytes <= limit else { throw tooLarge }
            collected.writeImmutableBuffer(chunk)
        }
        return collected
    }

    private func forward(
        _ request: Request,
        context: GatewayRequestContext,
        admitted: AdmittedInvocation,
        method: HTTPMethod,
        path: String,
        passNonSuccess: Bool,
        body prepared: UpstreamClient.Body?,
        spanName: String = "forward"
    ) async throws -> Response {
        let resolved = admitted.resolved
        let serverProtocol = resolved.configuration.protocolConfiguration.serverProtocol
        let (hold, address) = try await stage(.session) { span throws(AgentCoreError) in
            let (hold, address) = try await sessions.begin(
                resolved,
                requestedSessionId: Self.requestedSessionId(request.headers, serverProtocol: serverProtocol),
                principalId: admitted.principal.sessionOwner
            )
            if let span {
                var attributes = span.attributes
                attributes["session.id"] = hold.sessionId
                attributes["portcullis.session.acquisition"] = hold.acquisition.rawValue
                span.attributes = attributes
            }
            return (hold, address)
        }
        tracing.currentSpan?.attributes["session.id"] = hold.sessionId
        context.observation.sessionId = hold.sessionId
        var headers = try ForwardedHeaders.upstreamRequestHeaders(
            from: request.headers,
            allowlisted: resolved.allowlistedHeaders,
            context: ForwardedHeaders.Context(
                sessionId: hold.sessionId,
                requestId: context.requestId,
                clientAddress: context.channel.remoteAddress?.ipAddress,
                isTLS: isTLS,
                host: request.head.authority,
                maxValueBytes: limits.maxForwardedHeaderBytes,
                workloadAccessToken: workloadTokens.mint(
                    workload: resolved.runtime.workloadIdentityName, user: admitted.principal.workloadUser, now: clock.now()
                ),
                oauth2CallbackURL: resolved.defaultReturnURL
            )
        )
        var body = prepared ?? UpstreamClient.Body.none
        if prepared == nil, method == .POST {
            let declaredLength = request.headers[.contentLength].flatMap { Int($0) }
            if let declaredLength, declaredLength <= Self.bufferedBodyLimit {
                // Small bodies (most invocations) are read first and sent with the head in one write.
                body = .bytes(try await request.body.collect(upTo: declaredLength))
            } else {
                body = .stream(LimitedRequestBody(base: request.body, limit: limits.maxPayloadBytes, hold: hold), length: declaredLength)
            }
        }
        switch body {
        case .bytes(let buffer): hold.countIn(buffer.readableBytes)
        case .spooled(let chunks): hold.countIn(chunks.length)
        case .none, .stream: break  // A stream counts as it goes.
        }
        let traceIndex = traceIndex
        let ((response, invocationMark), forwardSpan) = try await openStage(.forward, spanName: spanName, kind: .client) { span in
            // The agent's spans join the trace under this one, and so do its vault calls while it answers.
            tracing.inject(into: &headers)
            var invocationMark: (sandboxId: String, mark: Int)?
            if let span, let sandbox = address.sandbox {
                let mark = traceIndex.invocationBegan(sandboxId: sandbox.id, sessionId: hold.sessionId, runtimeId: resolved.runtime.id, context: span.context)
                invocationMark = (sandbox.id, mark)
            }
            let response: UpstreamResponse
            do {
                response = try await upstream.send(
                    method: method,
                    path: path,
                    to: address,
                    headers: headers,
                    body: body,
                    on: context.channel.eventLoop,
                    abandonWhenClosed: connections.connection(for: context.channel)
                )
            } catch {
                if let invocationMark { traceIndex.invocationEnded(sandboxId: invocationMark.sandboxId, mark: invocationMark.mark) }
                throw error
            }
            if let span {
                var attributes = span.attributes
                attributes["http.request.method"] = method.rawValue
                attributes["url.path"] = path
                attributes["http.response.status_code"] = Int(response.head.status.code)
                span.attributes = attributes
                if response.head.status.code >= 500 { span.setStatus(SpanStatus(code: .error)) }
            }
            return (response, invocationMark)
        }
        // Forwarding lasts until the answer has been read from the agent: here for a small one, at the stream's end
        // for a streamed one (the agent's vault calls while it streams still nest under it).
        let endForwarding: (@Sendable () -> Void)? = forwardSpan.map { (span: any Span) -> @Sendable () -> Void in
            {
                span.end()
                if let invocationMark { traceIndex.invocationEnded(sandboxId: invocationMark.sandboxId, mark: invocationMark.mark) }
            }
        }
        var forwardingEndsHere = true
        defer { if forwardingEndsHere { endForwarding?() } }
        logger.debug(
            "agent answered",
            metadata: [
                "agent": "\(resolved.runtime.name)", "status": "\(response.head.status.code)", "request_id": "\(context.requestId)",
                "session_id": "\(hold.sessionId)",
            ]
        )
        guard (200..<300).contains(response.head.status.code) || passNonSuccess else {
            throw await Self.agentError(response)
        }
        var responseHeaders = ForwardedHeaders.clientResponseHeaders(
            from: response.head.headers,
            sessionId: hold.sessionId,
            requestId: context.requestId
        )
        if serverProtocol == .mcp, responseHeaders[.mcpSessionId] == nil {
            // The platform issues the MCP session id when the server does not, and maps it back to this session.
            responseHeaders[.mcpSessionId] = hold.sessionId
        }
        let contentLength = response.head.headers.first(name: "content-length").flatMap { Int($0) }
        let status = HTTPResponse.Status(code: Int(response.head.status.code))
        if let contentLength, contentLength <= Self.bufferedBodyLimit {
            // A small, complete answer goes out in one write (head, body and end together).
            let buffer: ByteBuffer
            do {
                buffer = try await response.body.collect(upTo: contentLength)
            } catch let error as UpstreamError {
                // The agent (or the caller leaving, which closes the agent's connection) cut the answer short.
                throw upstream.translate(error)
            }
            hold.countOut(buffer.readableBytes)
            return Response(status: status, headers: responseHeaders, body: ResponseBody(byteBuffer: buffer))
        }
        let maxStreamDuration = maxStreamDuration
        forwardingEndsHere = false
        let responseBody = ResponseBody(contentLength: contentLength) { writer in
            defer { endForwarding?() }
            let deadline = ContinuousClock.now + maxStreamDuration
            var iterator = response.body.makeAsyncIterator()
            do {
                while let chunk = try await iterator.next() {
                    guard ContinuousClock.now < deadline else { throw AgentCoreError(.runtimeClientError, "The stream exceeded its time limit") }
                    hold.countOut(chunk.readableBytes)
                    try await writer.write(chunk)
                }
            } catch {
                forwardSpan?.setStatus(SpanStatus(code: .error, message: GatewayTracing.statusMessage(error)))
                throw error
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
