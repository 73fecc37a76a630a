public import Foundation
public import PortcullisCore

/// Persistence of vaulted OAuth 2.0 grants, the refresh journal and consent sessions. Every write that can race is
/// a compare-and-set, so two gateways on one store never lose a rotated refresh token to each other.
public protocol VaultTokenStore: Sendable {
    func vaultToken(_ key: VaultToken.Key) async throws -> VaultToken?
    func vaultToken(id: String) async throws -> VaultToken?
    /// Active user grants with a refresh token whose access token expires before `date` and that are not backing
    /// off at `now` (a retry time beyond `latestRetry` is a clock that was set back: not a backoff), soonest first.
    func vaultTokensExpiring(before date: Date, now: Date, latestRetry: Date, limit: Int) async throws -> [VaultToken]

    /// Stores a new grant for its key, or replaces the one there (a completed consent: a newer generation wins).
    /// Returns the stored row.
    func putVaultToken(_ token: VaultToken) async throws -> VaultToken

    /// Stores `token` unless its key already has a grant; returns what is stored for the key.
    func insertVaultTokenIfAbsent(_ token: VaultToken) async throws -> VaultToken

    /// Takes the refresh lease of a token if nobody holds a live one. Returns `false` when another owner holds it.
    func acquireLease(tokenId: String, owner: String, until: Date, now: Date) async throws -> Bool
    func releaseLease(tokenId: String, owner: String) async throws

    /// Commits a refreshed pair if the token still holds the refresh token that was used (`consumedRefreshHash`):
    /// anything newer written meanwhile (a sibling's refresh, a re-consent) wins, and a deleted row stays deleted.
    /// Releases the lease. Returns `false` when nothing was written.
    func commitRefresh(
        tokenId: String, consumedRefreshHash: String?, sealedAccessToken: String, accessExpiresAt: Date?, sealedRefreshToken: String?,
        refreshHash: String?, at date: Date
    ) async throws -> Bool

    /// Records a transient refresh failure (counting its UTC day once), sets when the next attempt may start and
    /// releases the lease — if `owner` holds the lease and the token still holds `consumedRefreshHash`. Returns the updated row, `nil` when
    /// something newer was written meanwhile. A commit or a new consent clears the run.
    func recordRefreshFailure(tokenId: String, owner: String, consumedRefreshHash: String?, error: String, retryAt: Date, at date: Date) async throws -> VaultToken?

    /// Marks a grant as needing re-consent (only if it still holds `consumedRefreshHash`), with the vendor's code.
    func markNeedsReauthorization(tokenId: String, consumedRefreshHash: String?, error: String, at date: Date) async throws -> Bool

    /// Opens a journal entry before a refresh goes to the vendor; returns its id.
    func beginRefresh(tokenId: String, owner: String, consumedRefreshHash: String?, at date: Date) async throws -> Int64
    func finishRefresh(entry: Int64, outcome: String, at date: Date) async throws
    /// Journal entries of a token still in flight (started, never finished), by other owners than `except`.
    func refreshesInFlight(tokenId: String, except owner: String, since: Date) async throws -> Int

    func insertConsentSession(_ session: ConsentSession) async throws
    func consentSession(id: String) async throws -> ConsentSession?
    func consentSession(stateHash: String) async throws -> ConsentSession?
    /// Replaces a session if it is still in `expected` state; returns `false` when another request moved it first
    /// (so a state is consumed, and a code exchanged, exactly once).
    func updateConsentSession(_ session: ConsentSession, expected: ConsentSession.Status) async throws -> Bool
    /// Removes consent sessions that expired before `date`; returns how many.
    func deleteExpiredConsentSessions(before date: Date) async throws -> Int
    /// Every sealed value of the vault (grants, consent sessions, queued revocations), for re-wrapping.
    func sealedVaultValues() async throws -> [SealedVaultValue]
    /// Replaces one sealed value if it is still `value.sealed`. Returns `false` when the row changed meanwhile.
    func replaceSealedVaultValue(_ value: SealedVaultValue, with sealed: String) async throws -> Bool

    /// Removes refresh journal entries started before `date`; returns how many.
    func purgeRefreshJournal(startedBefore date: Date) async throws -> Int
}
