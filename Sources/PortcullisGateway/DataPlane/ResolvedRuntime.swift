import Foundation
import PortcullisCore
import PortcullisSessions

/// An invocation target resolved to the exact version it runs, with the agent's address parsed once.
struct ResolvedRuntime: Sendable {
    var runtime: AgentRuntime
    var endpointName: String
    var version: AgentRuntimeVersion
    var arn: String
    /// Where an endpoint agent listens; `nil` for agents that run in sandboxes.
    var upstream: UpstreamAddress?
    /// What a session of a code agent runs; `nil` for endpoint agents.
    var sandboxed: SandboxedAgent?
    /// `requestHeaderAllowlist`, lowercased, for the per-request header filter.
    var allowlistedHeaders: Set<String>
    /// The version's JWT authorizer, read once; `nil` on runtimes without one (and on one that cannot be read,
    /// which ``AgentRuntimeConfiguration/requiresJWTBearer`` still marks, so every token is refused).
    var authorizer: CustomJWTAuthorizer?
    /// The first allowed return URL of the runtime's workload identity (sent as `OAuth2CallbackUrl`).
    var defaultReturnURL: String?

    var configuration: AgentRuntimeConfiguration { version.configuration }
}

/// Where an agent listens: scheme, host, port and base path of an endpoint agent's URL, or a port inside a sandbox.
struct UpstreamAddress: Sendable, Equatable {
    var isTLS: Bool
    var host: String
    var port: Int
    /// The URL's path without a trailing slash; empty for the root.
    var basePath: String
    /// The sandbox whose own loopback `port` is on; connections are opened inside its network namespace.
    var sandbox: (any Sandbox)?

    /// The agent's port on the loopback of a sandbox.
    init(sandbox: any Sandbox, port: Int) {
        self.isTLS = false
        self.host = "127.0.0.1"
        self.port = port
        self.basePath = ""
        self.sandbox = sandbox
    }

    static func == (left: UpstreamAddress, right: UpstreamAddress) -> Bool {
        left.isTLS == right.isTLS && left.host == right.host && left.port == right.port && left.basePath == right.basePath
            && left.sandbox?.id == right.sandbox?.id
    }

    init?(url: String) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
        else { return nil }
        self.isTLS = scheme == "https"
        self.host = host
        self.port = components.port ?? (scheme == "https" ? 443 : 80)
        var path = components.percentEncodedPath
        while path.hasSuffix("/") { path.removeLast() }
        self.basePath = path
    }

    /// The name sent in TLS SNI and checked against the certificate; `nil` for IP addresses, which SNI cannot carry.
    var tlsServerName: String? {
        host.first?.isNumber == true || host.contains(":") ? nil : host
    }

    /// The `Host` header value for requests to this address.
    var hostHeader: String {
        let bracketedHost = host.contains(":") ? "[\(host)]" : host
        let defaultPort = isTLS ? 443 : 80
        return port == defaultPort ? bracketedHost : "\(bracketedHost):\(port)"
    }
}
