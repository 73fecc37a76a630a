public import Foundation

/// A stored SigV4 access key. AWS Signature V4 needs the secret itself to check a signature, so it is kept sealed
/// by the key ring (bound to this key's id), never in plain text.
public struct AccessKeyRecord: Sendable, Equatable {
    /// The access key id clients put in `Credential=` (`PCAK` + 16 base32 characters, public).
    public var id: String
    public var name: String
    /// The secret access key, sealed (``KeyRing``) for context ``sealingContext``.
    public var sealedSecret: String
    public var agentScope: AgentScope
    public var isAdministrator: Bool
    /// Whether callers with this key may name the end user they invoke for
    /// (`X-Amzn-Bedrock-AgentCore-Runtime-User-Id`).
    public var mayActForUsers: Bool
    public var createdAt: Date
    public var expiresAt: Date?
    public var revokedAt: Date?
    public var lastUsedAt: Date?

    public init(
        id: String,
        name: String,
        sealedSecret: String,
        agentScope: AgentScope,
        isAdministrator: Bool,
        mayActForUsers: Bool,
        createdAt: Date,
        expiresAt: Date? = nil,
        revokedAt: Date? = nil,
        lastUsedAt: Date? = nil
    ) {
        self.id = id
        self.name = name
        self.sealedSecret = sealedSecret
        self.agentScope = agentScope
        self.isAdministrator = isAdministrator
        self.mayActForUsers = mayActForUsers
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
        self.lastUsedAt = lastUsedAt
    }

    /// The AAD context the secret is sealed for: a sealed secret copied onto another key's row does not open.
    public static func sealingContext(id: String) -> String { "access_key/\(id)" }
}
