public import Foundation

/// What a workload access token says: which workload, for which user (if any), and until when. The token itself
/// is sealed by the gateway (``WorkloadAccessTokens`` in PortcullisVault); agents treat it as opaque.
public struct WorkloadAccessTokenClaims: Sendable, Equatable {
    public var workload: String
    public var user: WorkloadUser?
    public var issuedAt: Date
    public var expiresAt: Date
    /// A random id, so two tokens minted in the same second differ and a token can be named in audit records.
    public var tokenId: String

    public init(workload: String, user: WorkloadUser?, issuedAt: Date, expiresAt: Date, tokenId: String) {
        self.workload = workload
        self.user = user
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.tokenId = tokenId
    }
}
