import Cedar
import Foundation
import PortcullisCore

/// The Cedar `context` of a request.
///
/// | key | type | present |
/// |---|---|---|
/// | `authMethod` | String: `jwt`, `api_key`, `sigv4` | always |
/// | `scopes` | Set<String>: the token's scopes | always (empty for keys) |
/// | `clientId` | String | when the token names its client |
/// | `sourceIp` | ipaddr | when the client connected over TCP |
/// | `time` | datetime (UTC, ms) | always |
/// | `sessionId` | String | when the request names a runtime session |
/// | `userId` | String | when a trusted caller acts for a user |
/// | `headers` | record of the custom headers, names lower-cased | always |
/// | `mcp` | `{method, tool?}` | requests to MCP runtimes |
/// | `provider`, `requestedScopes` | String, Set<String> | token-vault requests |
enum RequestContext {
    static func values(of request: AuthorizationRequest) -> [String: Value] {
        let principal = request.principal
        let conditions = request.context
        var context: [String: Value] = [
            "authMethod": .string(principal.method.rawValue),
            "scopes": .set(Set(principal.scopes.map(Value.string))),
            "time": .datetime(DatetimeValue(millisecondsSinceEpoch: Int64((conditions.time.timeIntervalSince1970 * 1000).rounded(.down)))),
            "headers": .record(conditions.headers.mapValues(Value.string)),
        ]
        if let clientId = principal.clientId { context["clientId"] = .string(clientId) }
        if let address = conditions.sourceAddress.flatMap(sourceIP) { context["sourceIp"] = .ipaddr(address) }
        if let sessionId = conditions.sessionId { context["sessionId"] = .string(sessionId) }
        if let userId = principal.actingForUser { context["userId"] = .string(userId) }
        if let mcp = conditions.mcp {
            var call: [String: Value] = ["method": .string(mcp.method)]
            if let tool = mcp.tool { call["tool"] = .string(tool) }
            context["mcp"] = .record(call)
        }
        if let credential = conditions.credentialRequest {
            context["provider"] = .string(credential.provider)
            context["requestedScopes"] = .set(Set(credential.scopes.map(Value.string)))
        }
        return context
    }

    /// The client address as an `ipaddr`; an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, how a dual-stack socket
    /// reports IPv4 clients) is read as the IPv4 address, so `10.0.0.0/8` ranges match it.
    static func sourceIP(_ text: String) -> IPAddress? {
        let lowered = text.lowercased()
        if lowered.hasPrefix("::ffff:"), lowered.contains(".") {
            return IPAddress(parsing: String(lowered.dropFirst("::ffff:".count)))
        }
        return IPAddress(parsing: lowered)
    }
}
