import Foundation
import Logging
public import PortcullisCore
import PortcullisStore

/// Client-credentials (M2M) tokens: one per provider and scope set, shared by every workload, minted once at a
/// time across every gateway on the store (the first mint leases a placeholder row).
extension OAuth2Tokens {
    /// The provider's client-credentials token for these scopes, shared by every workload and minted once.
    public func machineToken(_ client: Client, scopes: [String], resources: [String], audiences: [String]) async throws(AgentCoreError) -> Outcome {
        guard client.profile.supportsClientCredentials else {
            throw AgentCoreError.invalidField("oauth2Flow", "\(client.profile.vendor) offers no client-credentials (M2M) flow; use USER_FEDERATION")
        }
        let key = VaultToken.Key(providerId: client.providerId, flow: .m2m, workload: "", userKey: "", scopes: scopes + resources.map { "resource:" + $0 } + audiences.map { "audience:" + $0 })
        var token = try await serving(key)
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
        return try await flight(tokenId, key: key) { try await self.mintMachineToken(tokenId, client, request) }
    }

    struct MachineRequest: Sendable {
        var scopes: [String]
        var resources: [String]
        var audiences: [String]
    }

    func mintMachineToken(_ tokenId: String, _ client: Client, _ request: MachineRequest) async throws(AgentCoreError) -> Outcome {
        // Waiting is real time, whatever the (injectable) clock says.
        let deadline = ContinuousClock.now + .seconds(leaseSeconds * 2 + 10)
        while ContinuousClock.now < deadline {
            guard let current = try await read(id: tokenId) else { throw AgentCoreError(.retryableConflict, "The provider changed meanwhile; try again") }
            if let valid = try usable(current) { return valid }
            if let wait = backingOff(current) {
                if let unexpired = try unexpired(current) { return unexpired }
                throw vendorUnavailable(client, retryIn: wait, flow: "client-credentials request")
            }
            guard try await lease(tokenId) else {
                try? await Task.sleep(for: pollInterval)
                continue
            }
            if let leased = try await read(id: tokenId), let valid = try usable(leased) {
                await release(tokenId)
                return valid
            }
            let secret: String
            do throws(AgentCoreError) {
                secret = try client.secret()
            } catch {
                await release(tokenId)
                throw error
            }
            let entry = try await storing { try await self.store.beginRefresh(tokenId: tokenId, owner: self.owner, consumedRefreshHash: nil, at: self.clock.now()) }
            switch await vendorAnswer(client.profile, { () async throws(VendorTokenError) in
                try await self.client.clientCredentials(
                    scopes: request.scopes, resources: request.resources, audiences: request.audiences, registration: client.registration,
                    secret: secret, profile: client.profile
                )
            }) {
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
                if error.kind != .transient { await release(tokenId) }
                switch error.kind {
                case .invalidClient: throw vendorRefusedClient(client, error)
                case .transient:
                    // Backoff as for refreshes, so an outage does not turn every request into a vendor call.
                    let delay = try await recordTransientFailure(current, consumed: current.refreshHash, error: error)?.1 ?? retry.baseSeconds
                    if let unexpired = try unexpired(current) { return unexpired }
                    throw vendorUnavailable(client, retryIn: delay, flow: "client-credentials request")
                case .invalidGrant, .invalidResponse, .refused:
                    logger.error("client-credentials request refused", metadata: ["provider": "\(client.providerName)", "reason": "\(error.code)"])
                    throw AgentCoreError(.accessDenied, "\(client.providerName) refused the client-credentials request (\(error.code))")
                }
            }
        }
        throw AgentCoreError(.retryableConflict, "The token is being minted elsewhere; try again")
    }
}
