public import Crypto
public import Foundation
public import Logging
public import PortcullisCore
public import PortcullisStore

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

    let store: any VaultTokenStore
    let keyRing: KeyRing
    let client: VendorTokenClient
    let clock: any WallClock
    let logger: Logger
    /// Names this process in leases and the journal.
    let owner = "gateway-" + SecureRandom.base32(12)
    private let flights = SingleFlight<String, Outcome>()
    /// How often a waiter looks at a token another process is refreshing.
    let pollInterval: Duration
    /// How long a refresh lease holds; a journal entry younger than this is a refresh still in flight.
    let leaseSeconds: TimeInterval
    let faults: VaultFaultPoints

    public init(
        store: any VaultTokenStore, keyRing: KeyRing, client: VendorTokenClient = VendorTokenClient(), clock: any WallClock, logger: Logger,
        pollInterval: Duration = .milliseconds(100), leaseSeconds: TimeInterval = OAuth2Tokens.defaultLeaseSeconds, faults: VaultFaultPoints = .none
    ) {
        self.store = store
        self.keyRing = keyRing
        self.client = client
        self.clock = clock
        self.logger = logger
        self.pollInterval = pollInterval
        self.leaseSeconds = leaseSeconds
        self.faults = faults
    }

    /// The provider's vendor and registration, with its client secret opened.
    public struct Client: Sendable {
        public var providerId: String
        public var providerName: String
        public var profile: OAuth2VendorProfile
        public var registration: OAuth2ClientRegistration
        public var secret: String

        public init(providerId: String, providerName: String, profile: OAuth2VendorProfile, registration: OAuth2ClientRegistration, secret: String) {
            self.providerId = providerId
            self.providerName = providerName
            self.profile = profile
            self.registration = registration
            self.secret = secret
        }
    }

    // MARK: - Reads

    /// A user's token for a workload: the vaulted one, refreshed when it is (nearly) expired.
    public func userToken(_ client: Client, workload: String, user: WorkloadUser, scopes: [String]) async throws(AgentCoreError) -> Outcome {
        let key = VaultToken.Key(providerId: client.providerId, flow: .user, workload: workload, userKey: user.key, scopes: scopes)
        guard let token = try await read(key), token.status == .active else { return .needsConsent }
        if let valid = try usable(token) { return valid }
        guard token.sealedRefreshToken != nil else { return .needsConsent }
        return try await refreshOnce(token.id, client)
    }

    /// The provider's client-credentials token for these scopes, shared by every workload and minted once.
    public func machineToken(_ client: Client, scopes: [String], resources: [String], audiences: [String]) async throws(AgentCoreError) -> Outcome {
        guard client.profile.supportsClientCredentials else {
            throw AgentCoreError.invalidField("oauth2Flow", "\(client.profile.vendor) offers no client-credentials (M2M) flow; use USER_FEDERATION")
        }
        let key = VaultToken.Key(providerId: client.providerId, flow: .m2m, workload: "", userKey: "", scopes: scopes + resources.map { "resource:" + $0 } + audiences.map { "audience:" + $0 })
        var token = try await read(key)
        if let token, let valid = try usable(token) { return valid }
        if token == nil {
            // A row to lease: the first mint of a key is single-flight across gateways too.
            let id = SecureRandom.base32(26)
            let placeholder = VaultToken(
                id: id, key: key, sealedAccessToken: "", accessExpiresAt: Date(timeIntervalSince1970: 0), sealedRefreshToken: nil, refreshHash: nil,
                generation: 0, updatedAt: clock.now()
            )
            token = try await storing { try await self.store.insertVaultTokenIfAbsent(placeholder) }
        }
        let request = MachineRequest(scopes: scopes, resources: resources, audiences: audiences)
        let tokenId = token!.id
        return try await flight(tokenId) { try await self.mintMachineToken(tokenId, client, request) }
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
        guard let due = try? await store.vaultTokensExpiring(before: soon, limit: 100) else { return 0 }
        var refreshed = 0
        for token in due {
            guard let client = await client(token.key.providerId) else { continue }
            do throws(AgentCoreError) {
                if case .token = try await refreshOnce(token.id, client) { refreshed += 1 }
            } catch {
                logger.warning("a background refresh failed", metadata: ["provider": "\(client.providerName)", "error": "\(error.message)"])
            }
        }
        return refreshed
    }

    // MARK: - Refresh

    private func refreshOnce(_ tokenId: String, _ client: Client) async throws(AgentCoreError) -> Outcome {
        try await flight(tokenId) { try await self.refresh(tokenId, client) }
    }

    private func flight(_ tokenId: String, _ operation: @escaping @Sendable () async throws -> Outcome) async throws(AgentCoreError) -> Outcome {
        do {
            return try await flights.run(tokenId, operation)
        } catch let error as AgentCoreError {
            throw error
        } catch {
            throw AgentCoreError(.internalServer, "The token vault could not complete the request")
        }
    }

    /// Refreshes a user token, or adopts the one someone else refreshed meanwhile.
    func refresh(_ tokenId: String, _ client: Client) async throws(AgentCoreError) -> Outcome {
        // Waiting is real time, whatever the (injectable) clock says.
        let deadline = ContinuousClock.now + .seconds(leaseSeconds * 3 + 10)
        while ContinuousClock.now < deadline {
            guard let current = try await read(id: tokenId), current.status == .active else { return .needsConsent }
            if let valid = try usable(current) { return valid }
            guard current.sealedRefreshToken != nil else { return .needsConsent }
            guard try await lease(tokenId) else {
                // Another gateway refreshes it: an access token that has not expired yet still serves; otherwise
                // wait for that gateway's commit and take what it stored.
                if let unexpired = try unexpired(current) { return unexpired }
                try? await Task.sleep(for: pollInterval)
                continue
            }
            // Under the lease: re-read, someone may have finished just before.
            guard let leased = try await read(id: tokenId), leased.status == .active, let sealedRefresh = leased.sealedRefreshToken else {
                await release(tokenId)
                return .needsConsent
            }
            if let valid = try usable(leased) {
                await release(tokenId)
                return valid
            }
            // A lease that ran out does not mean its holder's vendor call did: while a refresh of this token is in
            // flight elsewhere, a second one would spend the same single-use refresh token.
            if try await inFlightElsewhere(tokenId) {
                await release(tokenId)
                if let unexpired = try unexpired(leased) { return unexpired }
                try? await Task.sleep(for: pollInterval)
                continue
            }
            let consumed = leased.refreshHash
            let refreshToken: String
            do throws(AgentCoreError) {
                refreshToken = try open(sealedRefresh, context: VaultToken.refreshContext(id: tokenId))
            } catch {
                // Fail closed, and leave the row as it was.
                await release(tokenId)
                throw error
            }
            // No vendor call without a journal entry: a crash from here on is visible to the next refresher.
            let entry = try await storing { try await self.store.beginRefresh(tokenId: tokenId, owner: self.owner, consumedRefreshHash: consumed, at: self.clock.now()) }
            await faults.reach(.beforeVendorCall)
            // After a pause here, the lease may have passed to someone now refreshing, or the token may be rotated
            // already: only the lease holder of an unrotated token spends its refresh token.
            guard let fresh = try await read(id: tokenId), fresh.refreshHash == consumed, fresh.leaseOwner == owner,
                let until = fresh.leaseUntil, until > clock.now()
            else {
                await finish(entry, "fenced")
                await release(tokenId)
                continue
            }
            let answer: Result<VendorTokenResponse, VendorTokenError>
            do throws(VendorTokenError) {
                answer = .success(try await self.client.refresh(refreshToken, registration: client.registration, secret: client.secret, profile: client.profile))
            } catch {
                answer = .failure(error)
            }
            switch answer {
            case .success(let response):
                await faults.reach(.afterVendorAnswer)
                let sealed = try sealedToken(id: tokenId, key: leased.key, response, keepingRefresh: (sealedRefresh, consumed))
                let committed = try await storing {
                    try await self.store.commitRefresh(
                        tokenId: tokenId, consumedRefreshHash: consumed, sealedAccessToken: sealed.sealedAccessToken, accessExpiresAt: sealed.accessExpiresAt,
                        sealedRefreshToken: sealed.sealedRefreshToken, refreshHash: sealed.refreshHash, at: self.clock.now()
                    )
                }
                await finish(entry, committed ? "ok" : "fenced")
                if committed {
                    await faults.reach(.afterCommit)
                    logger.info("token refreshed", metadata: ["provider": "\(client.providerName)", "token": "\(tokenId)"])
                    return .token(accessToken: response.accessToken, expiresAt: sealed.accessExpiresAt)
                }
                // Something newer was written meanwhile (a re-consent, a deletion): that stands.
                await release(tokenId)
            case .failure(let error):
                await finish(entry, error.kind.rawValue)
                await release(tokenId)
                switch error.kind {
                case .invalidGrant:
                    if let outcome = try await afterInvalidGrant(tokenId, consumed: consumed, error: error, client: client) { return outcome }
                case .transient:
                    logger.warning("token refresh failed for now", metadata: ["provider": "\(client.providerName)", "reason": "\(error.code)"])
                    // An access token that has not expired yet is still good.
                    if let expiresAt = leased.accessExpiresAt, expiresAt > clock.now() {
                        return .token(accessToken: try open(leased.sealedAccessToken, context: VaultToken.accessContext(id: tokenId)), expiresAt: expiresAt)
                    }
                    throw AgentCoreError(.internalServer, "\(client.providerName) did not answer the token refresh; try again")
                case .invalidClient:
                    throw vendorRefusedClient(client, error)
                case .invalidResponse, .refused:
                    logger.error("token refresh refused", metadata: ["provider": "\(client.providerName)", "reason": "\(error.code)"])
                    throw AgentCoreError(.internalServer, "\(client.providerName) refused the token refresh (\(error.code))")
                }
            }
        }
        throw AgentCoreError(.retryableConflict, "The token is being refreshed elsewhere; try again")
    }

    /// Whether another owner's refresh of the token started within twice the lease time and has not finished. Older
    /// unfinished entries are refreshes whose gateway died (the vendor call is bounded by half the lease).
    private func inFlightElsewhere(_ tokenId: String) async throws(AgentCoreError) -> Bool {
        let since = clock.now().addingTimeInterval(-2 * leaseSeconds)
        return try await storing { try await self.store.refreshesInFlight(tokenId: tokenId, except: self.owner, since: since) } > 0
    }

    /// `invalid_grant`: adopt a sibling's rotation, wait for one in flight, or — only then — ask for re-consent.
    /// Returns `nil` to look again.
    private func afterInvalidGrant(_ tokenId: String, consumed: String?, error: VendorTokenError, client: Client) async throws(AgentCoreError) -> Outcome? {
        guard let now = try await read(id: tokenId) else { return .needsConsent }
        if now.refreshHash != consumed { return nil }
        if try await inFlightElsewhere(tokenId) {
            try? await Task.sleep(for: pollInterval)
            return nil
        }
        let marked = try await storing {
            try await self.store.markNeedsReauthorization(tokenId: tokenId, consumedRefreshHash: consumed, error: error.code, at: self.clock.now())
        }
        if !marked { return nil }
        logger.warning("a vaulted grant needs re-consent", metadata: ["provider": "\(client.providerName)", "token": "\(tokenId)", "reason": "\(error.code)"])
        return .needsConsent
    }

    private struct MachineRequest: Sendable {
        var scopes: [String]
        var resources: [String]
        var audiences: [String]
    }

    private func mintMachineToken(_ tokenId: String, _ client: Client, _ request: MachineRequest) async throws(AgentCoreError) -> Outcome {
        // Waiting is real time, whatever the (injectable) clock says.
        let deadline = ContinuousClock.now + .seconds(leaseSeconds * 2 + 10)
        while ContinuousClock.now < deadline {
            guard let current = try await read(id: tokenId) else { throw AgentCoreError(.retryableConflict, "The provider changed meanwhile; try again") }
            if let valid = try usable(current) { return valid }
            guard try await lease(tokenId) else {
                try? await Task.sleep(for: pollInterval)
                continue
            }
            if let leased = try await read(id: tokenId), let valid = try usable(leased) {
                await release(tokenId)
                return valid
            }
            let entry = try await storing { try await self.store.beginRefresh(tokenId: tokenId, owner: self.owner, consumedRefreshHash: nil, at: self.clock.now()) }
            let answer: Result<VendorTokenResponse, VendorTokenError>
            do throws(VendorTokenError) {
                answer = .success(
                    try await self.client.clientCredentials(
                        scopes: request.scopes, resources: request.resources, audiences: request.audiences, registration: client.registration,
                        secret: client.secret, profile: client.profile
                    )
                )
            } catch {
                answer = .failure(error)
            }
            switch answer {
            case .success(let response):
                let sealed = try sealedToken(id: tokenId, key: current.key, response, keepingRefresh: nil)
                let committed = try await storing {
                    try await self.store.commitRefresh(
                        tokenId: tokenId, consumedRefreshHash: current.refreshHash, sealedAccessToken: sealed.sealedAccessToken,
                        accessExpiresAt: sealed.accessExpiresAt, sealedRefreshToken: nil, refreshHash: nil, at: self.clock.now()
                    )
                }
                await finish(entry, committed ? "ok" : "fenced")
                logger.info("client-credentials token minted", metadata: ["provider": "\(client.providerName)"])
                return .token(accessToken: response.accessToken, expiresAt: sealed.accessExpiresAt)
            case .failure(let error):
                await finish(entry, error.kind.rawValue)
                await release(tokenId)
                switch error.kind {
                case .invalidClient: throw vendorRefusedClient(client, error)
                case .transient: throw AgentCoreError(.internalServer, "\(client.providerName) did not answer the client-credentials request; try again")
                case .invalidGrant, .invalidResponse, .refused:
                    logger.error("client-credentials request refused", metadata: ["provider": "\(client.providerName)", "reason": "\(error.code)"])
                    throw AgentCoreError(.accessDenied, "\(client.providerName) refused the client-credentials request (\(error.code))")
                }
            }
        }
        throw AgentCoreError(.retryableConflict, "The token is being minted elsewhere; try again")
    }

    // MARK: - Helpers

    /// The token, if it has not expired at all (though it may be within the refresh margin).
    private func unexpired(_ token: VaultToken) throws(AgentCoreError) -> Outcome? {
        guard token.status == .active, !token.sealedAccessToken.isEmpty, let expiresAt = token.accessExpiresAt, expiresAt > clock.now() else { return nil }
        return .token(accessToken: try open(token.sealedAccessToken, context: VaultToken.accessContext(id: token.id)), expiresAt: expiresAt)
    }

    /// The token, if it is good for at least the refresh margin (or does not expire).
    private func usable(_ token: VaultToken) throws(AgentCoreError) -> Outcome? {
        guard token.status == .active, !token.sealedAccessToken.isEmpty else { return nil }
        if let expiresAt = token.accessExpiresAt, expiresAt.timeIntervalSince(clock.now()) < Self.refreshMarginSeconds { return nil }
        return .token(accessToken: try open(token.sealedAccessToken, context: VaultToken.accessContext(id: token.id)), expiresAt: token.accessExpiresAt)
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

    private func seal(_ value: String, context: String) throws(AgentCoreError) -> String {
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

    private func lease(_ tokenId: String) async throws(AgentCoreError) -> Bool {
        let now = clock.now()
        return try await storing { try await self.store.acquireLease(tokenId: tokenId, owner: self.owner, until: now.addingTimeInterval(self.leaseSeconds), now: now) }
    }

    private func release(_ tokenId: String) async {
        try? await store.releaseLease(tokenId: tokenId, owner: owner)
    }

    private func finish(_ entry: Int64, _ outcome: String) async {
        do {
            try await store.finishRefresh(entry: entry, outcome: outcome, at: clock.now())
        } catch {
            logger.error("cannot close a refresh journal entry", metadata: ["error": "\(error)"])
        }
    }

    private func read(_ key: VaultToken.Key) async throws(AgentCoreError) -> VaultToken? {
        try await storing { try await self.store.vaultToken(key) }
    }

    private func read(id: String) async throws(AgentCoreError) -> VaultToken? {
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

    private func storeFailure(_ error: any Error) -> AgentCoreError {
        logger.error("token vault store failed", metadata: ["error": "\(error)"])
        return AgentCoreError(.internalServer, "The token vault's store is unavailable")
    }

    private func vendorRefusedClient(_ client: Client, _ error: VendorTokenError) -> AgentCoreError {
        logger.error("a vendor refused a provider's client credentials", metadata: ["provider": "\(client.providerName)", "reason": "\(error.code)"])
        return AgentCoreError(.validation, "\(client.providerName) refused the provider's client registration (\(error.code)); fix the credential provider", reason: .fieldValidationFailed)
    }
}
