public import Foundation

/// A stored API key: everything but the secret, which exists only as a SHA-256 hash.
public struct APIKeyRecord: Sendable, Equatable {
    /// The public lookup id, also the key's visible prefix (`pcs_<id>_…`).
    public var id: String
    public var name: String
    /// SHA-256 of the whole key string.
    public var secretHash: [UInt8]
    public var agentScope: AgentScope
    public var isAdministrator: Bool
    public var createdAt: Date
    public var expiresAt: Date?
    public var revokedAt: Date?
    public var lastUsedAt: Date?

    public init(
        id: String,
        name: String,
        secretHash: [UInt8],
        agentScope: AgentScope,
        isAdministrator: Bool,
        createdAt: Date,
        expiresAt: Date? = nil,
        revokedAt: Date? = nil,
        lastUsedAt: Date? = nil
    ) {
        self.id = id
        self.name = name
        self.secretHash = secretHash
        self.agentScope = agentScope
        self.isAdministrator = isAdministrator
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
        self.lastUsedAt = lastUsedAt
    }
}
