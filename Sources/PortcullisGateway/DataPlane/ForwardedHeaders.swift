import HTTPTypes
import NIOHTTP1
import PortcullisCore

/// The header rules between caller and agent. Forwarding is an allowlist: a request header reaches the agent only
/// if the contract names it, it carries the custom prefix, or the runtime's `requestHeaderAllowlist` lists it.
/// Everything else — the caller's credentials, `x-amz*`, cookies, hop-by-hop headers — stays at the gateway.
enum ForwardedHeaders {
    /// Headers the contract passes to the agent, with their length limits.
    private static let contractHeaders: [String: Int] = [
        "content-type": 256,
        "accept": 256,
        "mcp-session-id": 1024,
        "mcp-protocol-version": 1024,
        "mcp-method": 1024,
        "mcp-name": 1024,
        // A2A v1 clients name the protocol version (servers assume 0.3 without it) and the extensions they use.
        "a2a-version": 64,
        "a2a-extensions": 1024,
        "traceparent": 128,
        "tracestate": 512,
        "baggage": 8192,
        "x-amzn-trace-id": 128,
    ]

    /// Agent response headers the caller may see.
    private static let responseHeaders: Set<String> = [
        "content-type", "content-encoding", "content-language", "cache-control", "mcp-session-id",
        "mcp-protocol-version", "a2a-version", "a2a-extensions", "traceparent", "tracestate", "baggage", "x-amzn-trace-id",
    ]

    /// What the gateway adds to every forwarded request.
    struct Context: Sendable {
        var sessionId: String
        var requestId: String
        var clientAddress: String?
        var isTLS: Bool
        var host: String?
        var maxValueBytes: Int
        /// The agent's workload access token for this call.
        var workloadAccessToken: String?
        /// The return URL `@requires_access_token` uses when the agent names none.
        var oauth2CallbackURL: String?
    }

    /// The headers sent to the agent.
    /// - Parameter extraCustomHeaders: custom headers that arrived as query parameters (presigned WebSocket URLs).
    /// - Throws: `ValidationException` for a forwarded value that is too long or holds control characters.
    static func upstreamRequestHeaders(
        from fields: HTTPFields,
        allowlisted: Set<String>,
        context: Context,
        extraCustomHeaders: [(name: String, value: String)] = [],
        defaultContentType: Bool = true
    ) throws(AgentCoreError) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.reserveCapacity(fields.count + 6)
        var hasContentType = false
        for field in fields {
            let name = field.name.canonicalName
            let limit: Int
            if let contractLimit = contractHeaders[name] {
                limit = contractLimit
                if name == "content-type" { hasContentType = true }
            } else if name.hasPrefix(AgentRuntimeRules.customHeaderPrefix) || allowlisted.contains(name) {
                limit = context.maxValueBytes
            } else {
                continue
            }
            try validate(name: field.name.rawName, value: field.value, limit: limit)
            headers.add(name: field.name.rawName, value: field.value)
        }
        for header in extraCustomHeaders {
            try validate(name: header.name, value: header.value, limit: context.maxValueBytes)
            headers.add(name: header.name, value: header.value)
        }
        if !hasContentType && defaultContentType {
            // boto3 omits Content-Type unless told; the SDK's apps parse JSON regardless.
            headers.add(name: "Content-Type", value: "application/json")
        }
        headers.add(name: "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id", value: context.sessionId)
        headers.add(name: "X-Amzn-Bedrock-AgentCore-Runtime-Request-Id", value: context.requestId)
        if let token = context.workloadAccessToken {
            // Both names: the SDK's HTTP apps prefer the second, its A2A and AG-UI servers read only the first.
            headers.add(name: "WorkloadAccessToken", value: token)
            headers.add(name: "X-Amz-Bedrock-AgentCore-Identity-WAT", value: token)
        }
        if let callback = context.oauth2CallbackURL {
            headers.add(name: "OAuth2CallbackUrl", value: callback)
        }
        if let clientAddress = context.clientAddress {
            headers.add(name: "X-Forwarded-For", value: clientAddress)
        }
        headers.add(name: "X-Forwarded-Proto", value: context.isTLS ? "https" : "http")
        if let host = context.host {
            headers.add(name: "X-Forwarded-Host", value: host)
        }
        return headers
    }

    /// The agent's response headers the caller sees, plus the session and request ids.
    static func clientResponseHeaders(from upstream: HTTPHeaders, sessionId: String, requestId: String) -> HTTPFields {
        var fields = HTTPFields()
        fields.reserveCapacity(upstream.count + 2)
        for header in upstream {
            let lowered = header.name.lowercased()
            guard responseHeaders.contains(lowered) || lowered.hasPrefix(AgentRuntimeRules.customHeaderPrefix),
                let name = HTTPField.Name(header.name), isSafe(header.value)
            else { continue }
            fields.append(HTTPField(name: name, value: header.value))
        }
        fields[.runtimeSessionId] = sessionId
        fields[.amznRequestId] = requestId
        return fields
    }

    static func validate(name: String, value: String, limit: Int) throws(AgentCoreError) {
        guard value.utf8.count <= limit else {
            throw AgentCoreError.invalidField(name, "Header value must be at most \(limit) bytes")
        }
        guard isSafe(value) else {
            throw AgentCoreError.invalidField(name, "Header value must not contain control characters")
        }
    }

    /// No CR, LF, NUL or other control characters except horizontal tab.
    static func isSafe(_ value: String) -> Bool {
        value.utf8.allSatisfy { $0 >= 0x20 && $0 != 0x7F || $0 == 0x09 }
    }
}
