public import Foundation

/// An agent's identity towards the token vault (AgentCore's workload identity). Every agent runtime has one, named
/// after the runtime's id and removed with it; others are created through the control plane (the
/// `bedrock-agentcore` SDK's local development flow creates its own).
public struct WorkloadIdentity: Sendable, Equatable {
    /// 3–255 characters of `[A-Za-z0-9_.-]`.
    public var name: String
    /// The runtime this identity belongs to, for runtime-managed identities.
    public var runtimeId: String?
    /// Where the user-consent flow may send the browser back to, compared byte for byte.
    public var allowedReturnURLs: [String]
    public var tags: [String: String]
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        name: String, runtimeId: String? = nil, allowedReturnURLs: [String] = [], tags: [String: String] = [:], createdAt: Date, updatedAt: Date
    ) {
        self.name = name
        self.runtimeId = runtimeId
        self.allowedReturnURLs = allowedReturnURLs
        self.tags = tags
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// Whether `name` is a valid workload identity name.
    public static func isValidName(_ name: String) -> Bool {
        (3...255).contains(name.utf8.count)
            && name.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F || byte == 0x2E
                    || byte == 0x2D
            }
    }

    /// The return URL an agent's `@requires_access_token` uses when it names none (the `OAuth2CallbackUrl` header).
    public var defaultReturnURL: String? { allowedReturnURLs.first }

    /// At most this many return URLs per identity.
    public static let maxReturnURLs = 100

    /// Why `url` cannot be an allowed return URL, or `nil` when it can: an absolute `https://` URL (`http://` only
    /// to a loopback host, for development) with a host, and without user info, fragment, whitespace, control
    /// characters or backslashes — the shapes open-redirect tricks are made of.
    public static func returnURLProblem(_ url: String) -> String? {
        guard (1...2048).contains(url.utf8.count) else { return "must be 1-2048 characters" }
        guard url.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7F && $0 != UInt8(ascii: "\\") }) else {
            return "must not contain whitespace, control characters or backslashes"
        }
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), let host = components.host, !host.isEmpty
        else { return "must be an absolute URL with a host" }
        guard components.user == nil, components.password == nil else { return "must not carry user information" }
        guard components.fragment == nil else { return "must not have a fragment" }
        let loopback = ["localhost", "127.0.0.1", "[::1]", "::1"].contains(host.lowercased())
        guard scheme == "https" || (scheme == "http" && loopback) else { return "must use https (http only for localhost)" }
        return nil
    }
}
