public import Foundation

/// A token-vault credential provider as stored: an API key, or an OAuth 2.0 client registration. Its secret (the
/// API key, or the client secret) is sealed by the key ring for this row alone; the rest is plain configuration.
public struct CredentialProviderRecord: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case apiKey = "api_key"
        case oauth2
    }

    /// A random id that never changes; the sealing context, so a secret copied to another row does not open.
    public var id: String
    /// 1–128 characters of `[a-zA-Z0-9_-]`, unique per kind.
    public var name: String
    public var kind: Kind
    /// The OAuth 2.0 vendor (`GithubOauth2`, `SlackOauth2`, …); `nil` for API keys.
    public var vendor: String?
    /// The non-secret configuration (OAuth 2.0 endpoints, client id, …); `.null` for API keys.
    public var configuration: JSONValue
    /// The API key or client secret, sealed (``KeyRing``) for ``sealingContext``.
    public var sealedSecret: String
    public var tags: [String: String]
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, name: String, kind: Kind, vendor: String? = nil, configuration: JSONValue = .null, sealedSecret: String,
        tags: [String: String] = [:], createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.name = name
        self.kind = kind
        self.vendor = vendor
        self.configuration = configuration
        self.sealedSecret = sealedSecret
        self.tags = tags
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public var sealingContext: String { Self.sealingContext(id: id) }

    public static func sealingContext(id: String) -> String { "credential_provider/\(id)" }

    /// Whether `name` is a valid provider name.
    public static func isValidName(_ name: String) -> Bool {
        (1...128).contains(name.utf8.count)
            && name.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F || byte == 0x2D
            }
    }
}
