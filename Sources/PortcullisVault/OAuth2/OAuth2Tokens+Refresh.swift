import Foundation
import Logging
import PortcullisCore
import PortcullisStore
import PortcullisIdentity

extension OAuth2Tokens {
    func refreshOnce(_ token: VaultToken, _ client: Client) async throws(AgentCoreError) -> Outcome {
        let tokenId = token.id
        return try await flight(tokenId, key: token.key) { try await self.refresh(tokenId, client) }
    }

    /// Runs a refresh or mint once per token in this process; whatever it wrote, the cached row goes.
    func flight(_ tokenId: String, key: VaultToken.Key, _ operation: @escaping @Sendable () async throws -> Outcome) async throws(AgentCoreError) -> Outcome {
        defer { servedRows.evict(id: Self.cacheID(key)) }
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
            if let wait = backingOff(current) {
                // The vendor failed the last attempt: nobody tries again before the backoff ends.
                if let unexpired = try unexpired(current) { return unexpired }
                throw vendorUnavailable(client, retryIn: wait)
            }
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
            if let wait = backingOff(leased) {
                // Another gateway's attempt failed just now.
                await release(tokenId)
                if let unexpired = try unexpired(leased) { return unexpired }
                throw vendorUnavailable(client, retryIn: wait)
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
            let secret: String
            do throws(AgentCoreError) {
                refreshToken = try open(sealedRefresh, context: VaultToken.refreshContext(id: tokenId))
                secret = try client.secret()
            } catch {
                // Fail closed, and leave the row as it was.
                await release(tokenId)
                throw error
            }
            await faults.reach(.afterLease)
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
            switch await vendorAnswer(client.profile, { () async throws(VendorTokenError) in
                try await self.client.refresh(refreshToken, registration: client.registration, secret: secret, profile: client.profile)
            }) {
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
                    logger.info("token refreshed", metadata: ["provider": "\(client.providerName)", "token_id": "\(tokenId)"])
                    return .token(accessToken: response.accessToken, expiresAt: sealed.accessExpiresAt)
                }
                // Something newer was written meanwhile (a re-consent, a deletion): that stands.
                await release(tokenId)
                await queueRevocationIfDeleted(tokenId, leased, sealed, client: client)
            case .failure(let error):
                await finish(entry, error.kind.rawValue)
                // A transient failure keeps the lease until its backoff is recorded (that write releases it), so no
                // sibling refreshes in between and then has its success overwritten by this failure.
                if error.kind != .transient { await release(tokenId) }
                switch error.kind {
                case .invalidGrant:
                    if let outcome = try await afterInvalidGrant(tokenId, consumed: consumed, error: error, client: client) { return outcome }
                case .transient:
                    return try await afterTransientFailure(leased, consumed: consumed, error: error, client: client)
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

    /// A vendor that is down or throttling: the failure is counted and the next attempt waits out a backoff; an
    /// access token that has not expired is still handed out. Only a run of failures over
    /// ``RefreshRetry/exhaustionDays`` distinct days gives up on the grant (re-consent), never a bad hour.
    private func afterTransientFailure(
        _ leased: VaultToken, consumed: String?, error: VendorTokenError, client: Client
    ) async throws(AgentCoreError) -> Outcome {
        let now = clock.now()
        guard let (recorded, delay) = try await recordTransientFailure(leased, consumed: consumed, error: error) else {
            // Rotated or replaced meanwhile: what is stored now answers.
            return try await refresh(leased.id, client)
        }
        if retry.isExhausted(recorded.refreshFailures, now: now) {
            let marked = try await storing {
                try await self.store.markNeedsReauthorization(tokenId: leased.id, consumedRefreshHash: consumed, error: "refresh_exhausted", at: now)
            }
            if marked {
                logger.warning(
                    "a vaulted grant needs re-consent: its refresh failed on too many days",
                    metadata: ["provider": "\(client.providerName)", "token_id": "\(leased.id)", "failures": "\(recorded.refreshFailures.count)", "days": "\(recorded.refreshFailures.days)"]
                )
                return .needsConsent
            }
        }
        logger.warning(
            "token refresh failed for now",
            metadata: ["provider": "\(client.providerName)", "reason": "\(error.code)", "failures": "\(recorded.refreshFailures.count)", "retry_in_seconds": "\(Int(delay))"]
        )
        if let unexpired = try unexpired(leased) { return unexpired }
        throw vendorUnavailable(client, retryIn: delay)
    }

    /// Counts a transient failure and sets the token's backoff, releasing this gateway's lease — only while it holds
    /// the lease and the token still holds the refresh token it used. Returns the row and the backoff, `nil` (the
    /// lease released) when something newer stands.
    func recordTransientFailure(_ leased: VaultToken, consumed: String?, error: VendorTokenError) async throws(AgentCoreError) -> (VaultToken, TimeInterval)? {
        let now = clock.now()
        let delay = retry.delay(afterFailures: leased.refreshFailures.count + 1)
        let recorded = try await storing {
            try await self.store.recordRefreshFailure(
                tokenId: leased.id, owner: self.owner, consumedRefreshHash: consumed, error: error.code, retryAt: now.addingTimeInterval(delay), at: now
            )
        }
        guard let recorded else {
            await release(leased.id)
            return nil
        }
        return (recorded, delay)
    }

    /// Seconds until a token that is backing off may be refreshed again; `nil` when it may be now. A retry time
    /// further away than any backoff means the clock was set back: that does not hold a refresh off.
    func backingOff(_ token: VaultToken) -> TimeInterval? {
        guard let retryAt = token.retryAt else { return nil }
        let wait = retryAt.timeIntervalSince(clock.now())
        guard wait > 0, wait <= retry.maximumSeconds * (1 + RefreshRetry.jitter) else { return nil }
        return wait
    }

    func vendorUnavailable(_ client: Client, retryIn seconds: TimeInterval, flow: String = "token refresh") -> AgentCoreError {
        AgentCoreError(.internalServer, "\(client.providerName) did not answer the \(flow); the next attempt is in \(Int(seconds.rounded(.up))) s")
    }

    /// Whether another owner's refresh of the token started within twice the lease time and has not finished. Older
    /// unfinished entries are refreshes whose gateway died (the vendor call is bounded by half the lease).
    func inFlightElsewhere(_ tokenId: String) async throws(AgentCoreError) -> Bool {
        let since = clock.now().addingTimeInterval(-2 * leaseSeconds)
        return try await storing { try await self.store.refreshesInFlight(tokenId: tokenId, except: self.owner, since: since) } > 0
    }

    /// `invalid_grant`: adopt a sibling's rotation, wait for one in flight, or — only then — ask for re-consent.
    /// Returns `nil` to look again.
    func afterInvalidGrant(_ tokenId: String, consumed: String?, error: VendorTokenError, client: Client) async throws(AgentCoreError) -> Outcome? {
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
        logger.warning("a vaulted grant needs re-consent", metadata: ["provider": "\(client.providerName)", "token_id": "\(tokenId)", "reason": "\(error.code)"])
        return .needsConsent
    }

    /// A grant deleted while its refresh was at the vendor: the pair the vendor just issued is in no row, so it is
    /// queued for revocation like the grant's own tokens were. (A grant replaced by a re-consent is left alone: for
    /// some vendors revoking a refresh token ends the user's whole grant, the new one too.)
    func queueRevocationIfDeleted(_ tokenId: String, _ leased: VaultToken, _ sealed: VaultToken, client: Client) async {
        do {
            guard try await store.vaultToken(id: tokenId) == nil else { return }
            guard let provider = client.provider else {
                logger.warning("a refreshed pair of a deleted grant cannot be queued for revocation: its provider is not known", metadata: ["token_id": "\(tokenId)"])
                return
            }
            try await store.queueVaultRevocation(
                tokenId: tokenId, provider: provider, flow: leased.key.flow, workload: leased.key.workload, sealedAccessToken: sealed.sealedAccessToken,
                sealedRefreshToken: sealed.sealedRefreshToken, reason: .refreshAfterDelete, at: clock.now()
            )
        } catch {
            logger.warning("cannot queue a deleted grant's refreshed pair for revocation", metadata: ["token_id": "\(tokenId)", "error": "\(error)"])
        }
    }
}
