import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import PortcullisCore
import PortcullisIdentity
import PortcullisPolicy
import PortcullisSessions
import PortcullisVault

/// Decides a WebSocket upgrade while it is being negotiated: the same admission as an HTTP invocation, then the
/// agent's side is connected, and only then does the client get its `101`.
struct WebSocketGate: Sendable {
    let gate: InvocationGate
    let sessions: AgentSessions
    let connector: UpstreamWebSocketConnector
    let limits: LimitsConfiguration
    let isTLS: Bool
    let workloadTokens: WorkloadAccessTokens
    let clock: any WallClock
    let logger: Logger

    /// The outcome of an upgrade request, or `nil` when the path is not a WebSocket route (it is then served as
    /// plain HTTP, which answers with the route's own error).
    func evaluate(_ request: HTTPRequest, channel: any Channel) async -> ClientConnection.UpgradeOutcome? {
        guard let target = request.path.flatMap(Self.webSocketTarget) else { return nil }
        do {
            let plan = try await admit(request, rawTarget: target.segment, rawQuery: target.query, channel: channel)
            return .accepted(plan)
        } catch {
            return .refused(error)
        }
    }

    /// `/runtimes/{target}/ws[?query]` → the raw target segment and query.
    static func webSocketTarget(_ path: String) -> (segment: Substring, query: String?)? {
        let pathPart: Substring
        let query: String?
        if let mark = path.firstIndex(of: "?") {
            pathPart = path[..<mark]
            query = String(path[path.index(after: mark)...])
        } else {
            pathPart = path[...]
            query = nil
        }
        let segments = pathPart.split(separator: "/", omittingEmptySubsequences: false)
        guard segments.count == 4, segments[0].isEmpty, segments[1] == "runtimes", !segments[2].isEmpty, segments[3] == "ws" else {
            return nil
        }
        return (segments[2], query)
    }

    private func admit(
        _ request: HTTPRequest,
        rawTarget: Substring,
        rawQuery: String?,
        channel: any Channel
    ) async throws(AgentCoreError) -> WebSocketRelayPlan {
        let query = QueryParameters(rawQuery)
        let subprotocols = WebSocketSubprotocols(request.headerFields)
        var credential: InboundCredential?
        let hasOtherCredential = request.headerFields[.authorization] != nil || request.headerFields[.xAPIKey] != nil
            || rawQuery?.contains("X-Amz-Signature") == true
        if !hasOtherCredential, let token = subprotocols.bearerToken {
            credential = APIKeyFormat.keyId(of: token) != nil ? .apiKey(token) : .bearerToken(token)
        }
        let path = request.path ?? "/"
        let facts = RequestFacts(
            method: request.method.rawValue,
            rawPath: String(path[..<(path.firstIndex(of: "?") ?? path.endIndex)]),
            rawQuery: rawQuery,
            headers: request.headerFields,
            authority: request.authority,
            payloadHash: SignedRequest.emptyPayloadHash
        )
        let requestId = RequestIdentifier.next()
        let requestedSession = request.headerFields[.runtimeSessionId]
            ?? query["X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"]
            ?? query["x-amzn-bedrock-agentcore-runtime-session-id"]
        let queryHeaders = query.withPrefix(AgentRuntimeRules.customHeaderPrefix)
        let admitted = try await gate.admit(
            facts, rawTarget: rawTarget, query: query, credential: credential, action: .streamAgent,
            caller: AccessPolicy.Caller(
                requestId: requestId, sourceAddress: channel.remoteAddress?.ipAddress, headers: request.headerFields,
                queryHeaders: queryHeaders, sessionId: requestedSession
            )
        )
        let resolved = admitted.resolved
        let (hold, address) = try await sessions.begin(resolved, requestedSessionId: requestedSession, principalId: admitted.principal.sessionOwner)
        var headers = try ForwardedHeaders.upstreamRequestHeaders(
            from: request.headerFields,
            allowlisted: resolved.allowlistedHeaders,
            context: ForwardedHeaders.Context(
                sessionId: hold.sessionId,
                requestId: requestId,
                clientAddress: channel.remoteAddress?.ipAddress,
                isTLS: isTLS,
                host: request.authority,
                maxValueBytes: limits.maxForwardedHeaderBytes,
                workloadAccessToken: workloadTokens.mint(
                    workload: resolved.runtime.workloadIdentityName, user: admitted.principal.workloadUser, now: clock.now()
                ),
                oauth2CallbackURL: resolved.defaultReturnURL
            ),
            extraCustomHeaders: queryHeaders,
            defaultContentType: false
        )
        if !subprotocols.forwarded.isEmpty {
            headers.add(name: "Sec-WebSocket-Protocol", value: subprotocols.forwarded.joined(separator: ", "))
        }
        let (upstream, selected) = try await connector.connect(to: address, path: "/ws", headers: headers)
        var responseHeaders = HTTPHeaders()
        responseHeaders.add(name: "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id", value: hold.sessionId)
        responseHeaders.add(name: "x-amzn-RequestId", value: requestId)
        if let selected {
            responseHeaders.add(name: "Sec-WebSocket-Protocol", value: selected)
        } else if subprotocols.offeredBearerMarker {
            responseHeaders.add(name: "Sec-WebSocket-Protocol", value: WebSocketSubprotocols.bearerMarker)
        }
        logger.info(
            "websocket admitted",
            metadata: ["agent": "\(resolved.runtime.name)", "session_id": "\(hold.sessionId)", "request_id": "\(requestId)"]
        )
        return WebSocketRelayPlan(upstream: upstream, responseHeaders: responseHeaders, hold: hold, agentName: resolved.runtime.name)
    }
}
