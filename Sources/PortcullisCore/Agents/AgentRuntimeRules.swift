import Foundation

/// The checks an agent runtime definition must pass, shared by the control plane and the configuration file so
/// both accept exactly the same things.
public enum AgentRuntimeRules {
    /// Headers the gateway sets or strips itself; an allowlist may not name them.
    static let reservedHeaderNames: Set<String> = [
        "accept", "accept-charset", "accept-encoding", "accept-language", "accept-ranges",
        "age", "cache-control", "connection", "content-length", "content-type", "content-encoding", "content-language",
        "content-location", "content-md5", "content-range", "cookie", "set-cookie", "date", "etag", "expect",
        "expires", "forwarded", "host", "if-match", "if-modified-since", "if-none-match", "if-range",
        "if-unmodified-since", "keep-alive", "last-modified", "max-forwards", "mcp-session-id", "mcp-protocol-version",
        "origin", "pragma", "proxy-authenticate", "proxy-authorization", "proxy-connection", "range", "referer",
        "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "via", "vary", "warning", "x-api-key",
        "traceparent", "tracestate", "baggage", "workloadaccesstoken", "oauth2callbackurl",
    ]
    static let reservedHeaderPrefixes = ["x-amz", "x-forwarded-", "sec-websocket-", "access-control-", "proxy-"]
    /// The legacy prefix that may be forwarded although it starts with `x-amzn`.
    public static let customHeaderPrefix = "x-amzn-bedrock-agentcore-runtime-custom-"

    /// Checks `requestHeaderAllowlist`: 1–20 distinct names, `[A-Za-z][A-Za-z0-9_-]{0,255}`, none reserved,
    /// `Authorization` only on runtimes that take JWT bearer tokens.
    public static func validateHeaderAllowlist(
        _ names: [String],
        allowsAuthorization: Bool,
        field: String = "requestHeaderConfiguration.requestHeaderAllowlist"
    ) throws(AgentCoreError) {
        guard (1...20).contains(names.count) else {
            throw .invalidField(field, "Member must have length between 1 and 20")
        }
        var seen = Set<String>()
        for name in names {
            guard isValidHeaderName(name) else {
                throw .invalidField(field, "Header name '\(name)' must match [A-Za-z][A-Za-z0-9_-]{0,255}")
            }
            let lowered = name.lowercased()
            guard seen.insert(lowered).inserted else {
                throw .invalidField(field, "Header name '\(name)' is listed twice (names are case-insensitive)")
            }
            if lowered == "authorization" {
                guard allowsAuthorization else {
                    throw .invalidField(field, "Authorization can be forwarded only by runtimes with a customJWTAuthorizer")
                }
                continue
            }
            if lowered.hasPrefix(customHeaderPrefix) { continue }
            if reservedHeaderNames.contains(lowered) || reservedHeaderPrefixes.contains(where: lowered.hasPrefix) {
                throw .invalidField(field, "Header name '\(name)' is reserved and cannot be forwarded")
            }
        }
    }

    static func isValidHeaderName(_ name: String) -> Bool {
        let bytes = name.utf8
        guard let first = bytes.first, bytes.count <= 256, AgentRuntimeIdentifier.isLetter(first) else { return false }
        return bytes.allSatisfy {
            AgentRuntimeIdentifier.isLetter($0) || AgentRuntimeIdentifier.isDigit($0) || $0 == UInt8(ascii: "_")
                || $0 == UInt8(ascii: "-")
        }
    }

    /// Checks an endpoint agent's base URL: `http` or `https`, a host, no credentials, query or fragment.
    public static func validateEndpointURL(_ text: String, field: String) throws(AgentCoreError) {
        guard text.utf8.count <= 1024, let components = URLComponents(string: text),
            let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = components.host, !host.isEmpty
        else {
            throw .invalidField(field, "Must be an http:// or https:// URL of a running agent")
        }
        guard components.user == nil, components.password == nil else {
            throw .invalidField(field, "The agent URL must not carry credentials")
        }
        guard components.query == nil, components.fragment == nil else {
            throw .invalidField(field, "The agent URL must not have a query or fragment")
        }
    }

    /// Checks environment variables: at most 50, POSIX names of 1–100 characters, values up to 5000.
    public static func validateEnvironment(_ variables: [String: String], field: String = "environmentVariables") throws(AgentCoreError) {
        guard variables.count <= 50 else { throw .invalidField(field, "Member must have at most 50 entries") }
        for (key, value) in variables {
            let bytes = key.utf8
            guard let first = bytes.first, bytes.count <= 100,
                AgentRuntimeIdentifier.isLetter(first) || first == UInt8(ascii: "_"),
                bytes.allSatisfy({
                    AgentRuntimeIdentifier.isLetter($0) || AgentRuntimeIdentifier.isDigit($0) || $0 == UInt8(ascii: "_")
                })
            else {
                throw .invalidField(field, "Variable name '\(key)' must match [A-Za-z_][A-Za-z0-9_]{0,99}")
            }
            guard value.utf8.count <= 5000 else { throw .invalidField(field, "Value of \(key) exceeds 5000 characters") }
        }
    }

    /// Checks a description: 1–4096 characters.
    public static func validateDescription(_ text: String?, maxLength: Int = 4096, field: String = "description") throws(AgentCoreError) {
        guard let text else { return }
        guard (1...maxLength).contains(text.count) else {
            throw .invalidField(field, "Member must have length between 1 and \(maxLength)")
        }
    }

    /// The port of the gateway's own endpoint on every sandbox's loopback (the token vault for agents), which an
    /// agent therefore cannot listen on.
    public static let sandboxEndpointPort = 8790

    /// Checks the protocol's port and path overrides: port 8000–12000 except 8443 and the sandbox endpoint's,
    /// path starting with `/`.
    public static func validateProtocol(_ configuration: ProtocolConfiguration, field: String = "protocolConfiguration") throws(AgentCoreError) {
        if let port = configuration.port, !(8000...12000).contains(port) || port == 8443 || port == sandboxEndpointPort {
            throw .invalidField("\(field).port", "Member must be between 8000 and 12000 and not 8443 or \(sandboxEndpointPort) (the gateway's endpoint in the sandbox)")
        }
        if let path = configuration.path, !path.hasPrefix("/") || path.utf8.count > 2048 || path.contains(where: \.isWhitespace) {
            throw .invalidField("\(field).path", "Member must start with / and be at most 2048 characters without spaces")
        }
    }
}
