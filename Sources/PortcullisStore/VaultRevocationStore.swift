public import Foundation
public import PortcullisCore

/// Persistence of the vendor revocations that deleted grants still owe (``VaultRevocation``). Deleting a provider or
/// a workload identity queues them in its own transaction; the gateways then work the queue, each attempt claimed
/// by a compare-and-set so two gateways never call the vendor for one row at once.
public protocol VaultRevocationStore: Sendable {
    /// Revocations whose next attempt is due at `now`, oldest first.
    func dueVaultRevocations(at now: Date, limit: Int) async throws -> [VaultRevocation]
    /// Claims an attempt: counts it and holds the row until `until`, if its next attempt is still `expected` (nobody
    /// claimed it meanwhile). Returns `false` when someone else did.
    func claimVaultRevocation(id: Int64, expected: Date, until: Date) async throws -> Bool
    /// Puts a failed attempt's row back for another at `retryAt`.
    func retryVaultRevocation(id: Int64, at retryAt: Date, error: String) async throws
    /// Removes a finished revocation, and its provider copy once no other revocation needs it.
    func deleteVaultRevocation(id: Int64) async throws
    /// Queues the revocation of a pair a refresh brought after its grant was deleted, with a copy of `provider` (as
    /// the refresher read it: the stored one, and the copy its deletion left, may be gone already).
    func queueVaultRevocation(
        tokenId: String, provider: CredentialProviderRecord, flow: VaultToken.Flow, workload: String, sealedAccessToken: String,
        sealedRefreshToken: String?, reason: VaultRevocation.Reason, at date: Date
    ) async throws
    func vaultRevocationCount() async throws -> Int
}
