public import Foundation

/// What API keys and access keys have in common: a name, an agent scope, a lifetime, revocation.
public protocol IssuedCredential: Sendable {
    var id: String { get }
    var name: String { get }
    var agentScope: AgentScope { get }
    var isAdministrator: Bool { get }
    var createdAt: Date { get }
    var expiresAt: Date? { get }
    var revokedAt: Date? { get }
    var lastUsedAt: Date? { get }
}

extension IssuedCredential {
    /// Whether the credential may be used at `now`.
    public func isUsable(at now: Date) -> Bool {
        guard revokedAt == nil else { return false }
        if let expiresAt, expiresAt <= now { return false }
        return true
    }

    /// `active`, `revoked` or `expired`, as listings show it.
    public func status(at now: Date) -> String {
        if revokedAt != nil { return "revoked" }
        if let expiresAt, expiresAt <= now { return "expired" }
        return "active"
    }
}

extension APIKeyRecord: IssuedCredential {}
extension AccessKeyRecord: IssuedCredential {}
