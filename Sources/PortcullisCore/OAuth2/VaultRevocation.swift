public import Foundation

/// A deleted grant whose tokens the vendor has yet to revoke. Deleting a provider or a workload identity writes
/// one for each of its live grants in the same transaction that deletes them, so a crash between the deletion and
/// the vendor call loses nothing. It keeps the grant's sealed tokens (still sealed for the grant's id) and a copy of
/// the provider (its client secret sealed for the provider's id), since the provider itself may be gone.
public struct VaultRevocation: Sendable, Equatable {
    public enum Reason: String, Sendable, Codable {
        case providerDeleted
        case workloadDeleted
        /// A refresh answered after its grant was deleted: the fresh pair it brought.
        case refreshAfterDelete
    }

    /// The queue's own row number.
    public var id: Int64
    /// The deleted grant's id (``VaultToken/id``), the context its tokens are sealed for.
    public var tokenId: String
    /// The provider as it was when the grant was deleted.
    public var provider: CredentialProviderRecord
    public var flow: VaultToken.Flow
    public var workload: String
    public var sealedAccessToken: String
    public var sealedRefreshToken: String?
    public var reason: Reason
    /// Vendor calls begun so far (a claimed attempt counts even if its gateway died during it).
    public var attempts: Int
    /// When the next attempt may start; while an attempt runs, when its claim runs out.
    public var nextAttemptAt: Date
    public var lastError: String?
    public var createdAt: Date

    public init(
        id: Int64, tokenId: String, provider: CredentialProviderRecord, flow: VaultToken.Flow, workload: String, sealedAccessToken: String,
        sealedRefreshToken: String?, reason: Reason, attempts: Int = 0, nextAttemptAt: Date, lastError: String? = nil, createdAt: Date
    ) {
        self.id = id
        self.tokenId = tokenId
        self.provider = provider
        self.flow = flow
        self.workload = workload
        self.sealedAccessToken = sealedAccessToken
        self.sealedRefreshToken = sealedRefreshToken
        self.reason = reason
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
        self.createdAt = createdAt
    }
}

/// One sealed value of the token vault, for re-wrapping after a key rotation: where it is and what it is sealed for.
public struct SealedVaultValue: Sendable, Equatable {
    public enum Column: String, Sendable, CaseIterable {
        case grantAccess, grantRefresh, consentVerifier, consentPending, revocationAccess, revocationRefresh, revocationProviderSecret
    }

    public var column: Column
    /// The row's id: the grant, the consent session, or (for a provider copy) the provider.
    public var rowId: String
    public var sealed: String

    public init(column: Column, rowId: String, sealed: String) {
        self.column = column
        self.rowId = rowId
        self.sealed = sealed
    }

    /// The context the value is sealed for: a revocation keeps the grant's and the provider's.
    public var context: String {
        switch column {
        case .grantAccess, .revocationAccess: return VaultToken.accessContext(id: rowId)
        case .grantRefresh, .revocationRefresh: return VaultToken.refreshContext(id: rowId)
        case .consentVerifier: return ConsentSession.verifierContext(id: rowId)
        case .consentPending: return ConsentSession.pendingContext(id: rowId)
        case .revocationProviderSecret: return CredentialProviderRecord.sealingContext(id: rowId)
        }
    }
}
