import Foundation
import PortcullisCore

/// An invocation target resolved to the exact version it runs, with the agent's address parsed once.
struct ResolvedRuntime: Sendable {
    var runtime: AgentRuntime
    var endpointName: String
    var version: AgentRuntimeVersion
    var arn: String
    var upstream: UpstreamAddress
    /// `requestHeaderAllowlist`, lowercased, for the per-request header filter.
    var allowlistedHeaders: Set<String>
    /// The version's JWT authorizer, read once; `nil` on runtimes without one (and on one that cannot be read,
    /// which ``AgentRuntimeConfiguration/requiresJWTBearer`` still marks, so every token is refused).
    var authorizer: CustomJWTAuthorizer?

    var configuration: AgentRuntimeConfiguration { version.configuration }
}

/// Where an endpoint agent listens: scheme, host, port and base path of its URL.
struct UpstreamAddress: Sendable, Equatable {
    var isTLS: Bool
    var host: String
    var port: Int
    /// The URL's path without a trailing slash; empty for the root.
    var basePath: String

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
