import Crypto
public import Foundation
public import Logging
public import PortcullisCore
public import PortcullisStore
import PortcullisIdentity

/// The vault's OAuth 2.0 tokens: handing out a valid one, minting client-credentials tokens, refreshing — exactly
/// once per token at a time across every request and every gateway on the store — and storing what a completed
/// consent brought.
///
/// A refresh runs under three guards: a ``SingleFlight`` in this process, a lease on the token's row for everyone
/// else, and a journal entry written before the vendor is called. Its commit is a compare-and-set on the refresh
/// token it used, so a newer pair (a sibling's refresh, a re-consent) is never overwritten and a deleted grant is
/// never brought back. A refresher told `invalid_grant` re-reads first: if someone else rotated the token it adopts
/// theirs, if a refresh is still in flight elsewhere it waits for it, and only then does the grant need re-consent.
public final class OAuth2Tokens: Sendable {
    /// How long a refresh lease holds by default; the vendor call's timeout is well inside it.
    public static let defaultLeaseSeconds: TimeInterval = 60
    /// A token closer than this to its expiry is refreshed before it is handed out.
    public static let refreshMarginSeconds: TimeInterval = 300

    /// What a caller gets.
    public enum Outcome: Sendable, Equatable {
        case token(accessToken: String, expiresAt: Date?)
        /// No usable grant: the user must consent (again).
        case needsConsent
    }

    let store: any VaultTokenStore & VaultRevocationStore
    let keyRing: KeyRing
    let client: VendorTokenClient
    let clock: any WallClock
    let metrics: GatewayMetrics
    let logger: Logger
    /// Names this process in leases and the journal.
    let owner = "gateway-" + SecureRandom.base32(12)
    let flights = SingleFlight<String, Outcome>()
    /// How often a waiter looks at a token another process is refreshing.
    let pollInterval: Duration
    /// How long a refresh lease holds; a journal entry younger than this is a refresh still in flight.
    let leaseSeconds: TimeInterval
    let faults: VaultFaultPoints
    let retry: RefreshRetry
    /// Rows of tokens that can be handed out, as the hot read found them, for one second: a valid token is handed
    /// out without a store read. Rows stay sealed here; this process's refreshes and consents evict theirs, another
    /// gateway's changes apply within the second (and a refresh always reads the row afresh).
    let servedRows = CredentialRecordCache<VaultToken>(lifetime: 1)

    public init(
        store: any VaultTokenStore & VaultRevocationStore, keyRing: KeyRing, client: VendorTokenClient = VendorTokenClient(), clock: any WallClock,
        metrics: GatewayMetrics = GatewayMetrics(), logger: Logger,
        pollInterval: Duration = .milliseconds(100), leaseSeconds: TimeInterval = OAuth2Tokens.defaultLeaseSeconds, faults: VaultFaultPoints = .none,
        retry: RefreshRetry = RefreshRetry()
    ) {
        self.retry = retry
        self.store = store
        self.keyRing = keyRing
        self.client = client
        self.clock = clock
        self.metrics = metrics
        self.logger = logger
        self.pollInterval = pollInterval
        self.leaseSeconds = leaseSeconds
        self.faults = faults
    }

    /// The provider's vendor and registration; its client secret is opened only for a vendor call.
    public struct Client: Sendable {
        public var providerId: String
        public var providerName: String
        public var profile: OAuth2VendorProfile
        public var registration: OAuth2ClientRegistration
        /// The provider as it was read (its secret sealed), so a grant deleted during a refresh can still be
        /// revoked with it; `nil` for a client made without one.
        public var provider: CredentialProviderRecord?
        private let openSecret: @Sendable () throws(AgentCoreError) -> String

        public init(
            providerId: String, providerName: String, profile: OAuth2VendorProfile, registration: OAuth2ClientRegistration,
            provider: CredentialProviderRecord? = nil, secret: @escaping @Sendable () throws(AgentCoreError) -> String
        ) {
            self.provider = provider
            self.providerId = providerId
            self.providerName = providerName
            self.profile = profile
            self.registration = registration
            self.openSecret = secret
        }

        /// The client secret, opened now (fails closed when the vault is sealed or the row was tampered with).
        public func secret() throws(AgentCoreError) -> String { try openSecret() }
    }

    // MARK: - Reads

    /// A user's token for a workload: the vaulted one, refreshed when it is (nearly) expired.
    public func userToken(_ client: Client, workload: String, user: WorkloadUser, scopes: [String]) async throws(AgentCoreError) -> Outcome {
        let key = VaultToken.Key(providerId: client.providerId, flow: .user, workload: workload, userKey: user.key, scopes: scopes)
        guard let token = try await serving(key), token.status == .active else { return .needsConsent }
        if let valid = try usable(token) { return valid }
        guard token.sealedRefreshToken != nil else { return .needsConsent }
        return try await refreshOnce(token, client)
    }

    /// Stores what a completed consent brought for (workload, user, scopes), replacing any earlier grant.
    public func storeConsented(_ response: VendorTokenResponse, client: Client, workload: String, user: WorkloadUser, scopes: [String]) async throws(AgentCoreError) {
        let key = VaultToken.Key(providerId: client.providerId, flow: .user, workload: workload, userKey: user.key, scopes: scopes)
        // Two consents completing together: the second re-reads and replaces under the first one's id.
        for _ in 0..<3 {
            let id = try await read(key)?.id ?? SecureRandom.base32(26)
            let token = try sealedToken(id: id, key: key, response, keepingRefresh: nil)
            do {
                _ = try await store.putVaultToken(token)
                servedRows.evict(id: Self.cacheID(key))
                return
            } catch StoreError.conflict {
                continue
            } catch {
                throw storeFailure(error)
            }
        }
        throw AgentCoreError(.retryableConflict, "Another consent for this user and provider completed at the same time; try again")
    }

    /// Refreshes the user grants that are about to expire before anyone asks (through the same single-flight path,
    /// so a sweep and a request never refresh one token twice). Returns how many were refreshed.
    /// - Parameter client: the provider's client, by provider id (`nil` for a provider that cannot be used).
    public func sweep(client: @Sendable (String) async -> Client?) async -> Int {
        let soon = clock.now().addingTimeInterval(Self.refreshMarginSeconds)
        let now = clock.now()
        let latestRetry = now.addingTimeInterval(retry.maximumSeconds * (1 + RefreshRetry.jitter))
        guard let due = try? await store.vaultTokensExpiring(before: soon, now: now, latestRetry: latestRetry, limit: 100) else { return 0 }
        var refreshed = 0
        for token in due {
            guard let client = await client(token.key.providerId) else { continue }
            do throws(AgentCoreError) {
                if case .token = try await refreshOnce(token, client) { refreshed += 1 }
            } catch {
                logger.warning("a background refresh failed", metadata: ["provider": "\(client.providerName)", "error": "\(error.message)"])
            }
        }
        return refreshed
    }

    // MARK: - Helpers

    /// The token, if it has not expired at all (though it may be within the refresh margin).
    func unexpired(_ token: VaultToken) throws(AgentCoreError) -> Outcome? {
        guard token.status == .active, !token.sealedAccessToken.isEmpty, let expiresAt = token.accessExpiresAt, expiresAt > clock.now() else { return nil }
        return .token(accessToken: try open(token.sealedAccessToken, context: VaultToken.accessContext(id: token.id)), expiresAt: expiresAt)
    }

    /// The token, if it is good for at least the refresh margin (or does not expire).
    func usable(_ token: VaultToken) throws(AgentCoreError) -> Outcome? {
        guard isUsable(token) else { return nil }
        return .token(accessToken: try open(token.sealedAccessToken, context: VaultToken.accessContext(id: token.id)), expiresAt: token.accessExpiresAt)
    }

    func isUsable(_ token: VaultToken) -> Bool {
        guard token.status == .active, !token.sealedAccessToken.isEmpty else { return false }
        if let expiresAt = token.accessExpiresAt, expiresAt.timeIntervalSince(clock.now()) < Self.refreshMarginSeconds { return false }
        return true
    }

    /// A row's sealed fields for a token response; a response without a refresh token keeps the stored one.
    func sealedToken(
        id: String, key: VaultToken.Key, _ response: VendorTokenResponse, keepingRefresh kept: (sealed: String?, hash: String?)?
    ) throws(AgentCoreError) -> VaultToken {
        let now = clock.now()
        var sealedRefresh = kept?.sealed
        var refreshHash = kept?.hash
        if let refresh = response.refreshToken {
            sealedRefresh = try seal(refresh, context: VaultToken.refreshContext(id: id))
            refreshHash = Self.hash(refresh)
        }
        return VaultToken(
            id: id, key: key, sealedAccessToken: try seal(response.accessToken, context: VaultToken.accessContext(id: id)),
            accessExpiresAt: response.expiresIn.map { now.addingTimeInterval(TimeInterval($0)) }, sealedRefreshToken: sealedRefresh,
            refreshHash: refreshHash, updatedAt: now
        )
    }

    static func hash(_ token: String) -> String { Hex.encode(SHA256.hash(data: Array(token.utf8))) }

    func seal(_ value: String, context: String) throws(AgentCoreError) -> String {
        do {
            return try keyRing.seal(Array(value.utf8), context: context)
        } catch {
            throw AgentCoreError(.internalServer, "The token vault is sealed: no key-encryption key is loaded")
        }
    }

    func open(_ sealed: String, context: String) throws(AgentCoreError) -> String {
        do {
            return String(decoding: try keyRing.open(sealed, context: context), as: UTF8.self)
        } catch {
            logger.error("a vaulted token cannot be opened", metadata: ["context": "\(context)", "reason": "\(error.code.rawValue)"])
            throw AgentCoreError(.internalServer, error.code == .sealed ? "The token vault is sealed: no key-encryption key is loaded" : "A vaulted token cannot be read")
        }
    }

    /// A vendor call as a value: the caller, still under its lease and journal entry, decides what each outcome means.
    func vendorAnswer(
        _ profile: OAuth2VendorProfile, _ call: () async throws(VendorTokenError) -> VendorTokenResponse
    ) async -> Result<VendorTokenResponse, VendorTokenError> {
        do throws(VendorTokenError) {
            let response = try await call()
            metrics.increment(.vaultRefreshes, profile.vendor, "success")
            return .success(response)
        } catch {
            metrics.increment(.vaultRefreshes, profile.vendor, error.kind.rawValue)
            return .failure(error)
        }
    }

    func lease(_ tokenId: String) async throws(AgentCoreError) -> Bool {
        let now = clock.now()
        return try await storing { try await self.store.acquireLease(tokenId: tokenId, owner: self.owner, until: now.addingTimeInterval(self.leaseSeconds), now: now) }
    }

    func release(_ tokenId: String) async {
        try? await store.releaseLease(tokenId: tokenId, owner: owner)
    }

    func finish(_ entry: Int64, _ outcome: String) async {
        do {
            try await store.finishRefresh(entry: entry, outcome: outcome, at: clock.now())
        } catch {
            logger.error("cannot close a refresh journal entry", metadata: ["error": "\(error)"])
        }
    }

    /// The row for handing out a token: cached briefly (``servedRows``).
    func serving(_ key: VaultToken.Key) async throws(AgentCoreError) -> VaultToken? {
        let id = Self.cacheID(key)
        let row = try await storing { try await self.servedRows.record(id: id, now: self.clock.now()) { try await self.store.vaultToken(key) } }
        // Only a token that can be handed out stays: a missing or expiring grant is read afresh next time, so a
        // consent completed through another gateway is seen at once.
        if let row, isUsable(row) { return row }
        servedRows.evict(id: id)
        return row
    }

    static func cacheID(_ key: VaultToken.Key) -> String {
        [key.providerId, key.flow.rawValue, key.workload, key.userKey, key.scopeKey].joined(separator: "\u{0}")
    }

    func read(_ key: VaultToken.Key) async throws(AgentCoreError) -> VaultToken? {
        try await storing { try await self.store.vaultToken(key) }
    }

    func read(id: String) async throws(AgentCoreError) -> VaultToken? {
        try await storing { try await self.store.vaultToken(id: id) }
    }

    /// Runs a store call; a store failure fails closed, before any vendor call it would have guarded.
    func storing<T: Sendable>(_ body: @Sendable () async throws -> T) async throws(AgentCoreError) -> T {
        do {
            return try await body()
        } catch {
            throw storeFailure(error)
        }
    }

    func storeFailure(_ error: any Error) -> AgentCoreError {
        logger.error("token vault store failed", metadata: ["error": "\(error)"])
        return AgentCoreError(.internalServer, "The token vault's store is unavailable")
    }

    func vendorRefusedClient(_ client: Client, _ error: VendorTokenError) -> AgentCoreError {
        logger.error("a vendor refused a provider's client credentials", metadata: ["provider": "\(client.providerName)", "reason": "\(error.code)"])
        return AgentCoreError(.validation, "\(client.providerName) refused the provider's client registration (\(error.code)); fix the credential provider", reason: .fieldValidationFailed)
    }
}
