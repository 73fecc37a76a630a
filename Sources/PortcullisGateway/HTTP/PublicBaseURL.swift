import PortcullisCore

/// The URL clients reach the gateway at: `server.publicURL` when configured, else the request's scheme and `Host`.
///
/// Used in OAuth redirect URIs and protected-resource metadata (RFC 9728). A `Host` that is not a plain
/// `host[:port]` is not echoed anywhere.
struct PublicBaseURL: Sendable {
    let configured: String?
    let isTLS: Bool

    func resolve(authority: String?) -> String? {
        if let configured { return configured }
        guard let authority, Self.isPlainAuthority(authority) else { return nil }
        return (isTLS ? "https://" : "http://") + authority
    }

    /// `host[:port]` with a DNS name, IPv4 or bracketed IPv6 host.
    static func isPlainAuthority(_ text: String) -> Bool {
        guard (1...255).contains(text.utf8.count) else { return false }
        return text.utf8.allSatisfy { byte in
            AgentRuntimeIdentifier.isLetter(byte) || AgentRuntimeIdentifier.isDigit(byte)
                || [UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "["), UInt8(ascii: "]")].contains(byte)
        }
    }

    /// Where a runtime's protected-resource metadata is served.
    static func resourceMetadataPath(runtimeARN: String) -> String {
        "/.well-known/oauth-protected-resource" + resourcePath(runtimeARN: runtimeARN)
    }

    /// The path of a runtime as an OAuth protected resource: its invocation URL.
    static func resourcePath(runtimeARN: String) -> String {
        "/runtimes/\(PercentEncoding.encodeSegment(runtimeARN))/invocations"
    }
}
