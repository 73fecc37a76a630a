import Crypto
import Foundation
import Logging
import PortcullisCore
import PortcullisStore
@testable import PortcullisVault
import Testing

/// The queue of revocations deleted grants owe their vendors, on a real SQLite file: written by the deleting
/// transaction itself, claimed by one worker at a time, re-wrapped with the rest of the vault; and how the
/// revocation client picks each vendor's endpoint and reads its answers.
@Suite("Vendor revocations: the durable queue and the vendors' endpoints")
struct VaultRevocationQueueTests {
    /// An OAuth2 provider, two workloads, and a grant (sealed for its row) for each workload.
    static func seed(_ store: SQLiteStore, ring: KeyRing, clock: ManualClock) async throws -> (provider: CredentialProviderRecord, grants: [VaultToken]) {
        let providers = CredentialProviders(store: store, keyRing: ring, clock: clock, logger: Logger(label: "test"))
        let registration = OAuth2ClientRegistration(
            clientId: "client-1", authorizationEndpoint: "https://github.com/login/oauth/authorize", tokenEndpoint: "https://github.com/login/oauth/access_token",
            clientAuthentication: .post, usesPKCE: true
        )
        let provider = try await providers.create(
            name: "github", kind: .oauth2, vendor: "GithubOauth2", configuration: CredentialProviders.configuration(of: registration), secret: "client-secret",
            tags: [:]
        )
        var grants: [VaultToken] = []
        for workload in ["app-one", "app-two"] {
            try await store.insertWorkloadIdentity(WorkloadIdentity(name: workload, createdAt: clock.now(), updatedAt: clock.now()))
            let id = SecureRandom.base32(26)
            let token = VaultToken(
                id: id, key: VaultToken.Key(providerId: provider.id, flow: .user, workload: workload, userKey: "user-1", scopes: ["repo"]),
                sealedAccessToken: try ring.seal(Array("access-\(workload)".utf8), context: VaultToken.accessContext(id: id)), accessExpiresAt: nil,
                sealedRefreshToken: try ring.seal(Array("refresh-\(workload)".utf8), context: VaultToken.refreshContext(id: id)), refreshHash: "h-\(workload)",
                updatedAt: clock.now()
            )
            grants.append(try await store.putVaultToken(token))
        }
        return (provider, grants)
    }

    @Test("deleting a workload identity queues only its grants, in the same transaction; deleting the provider queues the rest with a copy of the provider")
    func deletionsQueue() async throws {
        try await VaultTestSupport.withStore { store, _ in
            let ring = VaultTestSupport.keyRing([1])
            let clock = ManualClock()
            let (provider, grants) = try await Self.seed(store, ring: ring, clock: clock)
            #expect(try await store.vaultRevocationCount() == 0)

            #expect(try await store.deleteWorkloadIdentity(name: "app-one"))
            let first = try await store.dueVaultRevocations(at: clock.now(), limit: 10)
            #expect(first.map(\.tokenId) == [grants[0].id])
            #expect(first.first?.reason == .workloadDeleted && first.first?.workload == "app-one")
            #expect(first.first?.sealedAccessToken == grants[0].sealedAccessToken, "the grant's sealed tokens, still sealed for its id")
            #expect(try await store.vaultToken(id: grants[0].id) == nil)
            #expect(try await store.vaultToken(id: grants[1].id) != nil, "another workload's grant stays")

            #expect(try await store.deleteCredentialProvider(kind: .oauth2, name: "github"))
            let all = try await store.dueVaultRevocations(at: clock.now(), limit: 10)
            #expect(Set(all.map(\.tokenId)) == Set(grants.map(\.id)))
            let second = try #require(all.first { $0.tokenId == grants[1].id })
            #expect(second.reason == .providerDeleted)
            // The provider is gone, its copy is not: the client secret still opens, for the provider's own id.
            #expect(try await store.credentialProvider(id: provider.id) == nil)
            #expect(second.provider.name == "github" && second.provider.vendor == "GithubOauth2")
            #expect(String(decoding: try ring.open(second.provider.sealedSecret, context: provider.sealingContext), as: UTF8.self) == "client-secret")
            #expect(String(decoding: try ring.open(second.sealedRefreshToken!, context: VaultToken.refreshContext(id: grants[1].id)), as: UTF8.self) == "refresh-app-two")

            // One claim per attempt: a second worker with the same view loses.
            #expect(try await store.claimVaultRevocation(id: second.id, expected: second.nextAttemptAt, until: clock.now().addingTimeInterval(60)))
            #expect(try await store.claimVaultRevocation(id: second.id, expected: second.nextAttemptAt, until: clock.now().addingTimeInterval(60)) == false)
            #expect(try await store.dueVaultRevocations(at: clock.now(), limit: 10).map(\.tokenId) == [grants[0].id], "a claimed row is not due")
            let claimed = try #require(try await store.dueVaultRevocations(at: clock.now().addingTimeInterval(61), limit: 10).first { $0.id == second.id })
            #expect(claimed.attempts == 1, "a claim counts as an attempt, and runs out")

            for revocation in all { try await store.deleteVaultRevocation(id: revocation.id) }
            #expect(try await store.vaultRevocationCount() == 0)
            #expect(try await store.sealedVaultValues().filter { $0.column == .revocationProviderSecret }.isEmpty, "the provider's copy goes with its last revocation")
        }
    }

    @Test("key rotation re-wraps the vault's grants, consent sessions and queued revocations, so the old key can be retired")
    func rewrapCoversTheVault() async throws {
        try await VaultTestSupport.withStore { store, _ in
            let (oldKey, newKey) = (SymmetricKey(size: .bits256), SymmetricKey(size: .bits256))
            let oldRing = KeyRing(keys: [1: oldKey])
            let clock = ManualClock()
            let (provider, _) = try await Self.seed(store, ring: oldRing, clock: clock)
            let sessionId = SecureRandom.base32(26)
            try await store.insertConsentSession(ConsentSession(
                id: sessionId, providerId: provider.id, workload: "app-two", userKey: "user-2",
                request: ConsentSession.Request(scopes: ["repo"], returnURL: nil, customState: nil, customParameters: [:], resources: [], audiences: []),
                sealedVerifier: try oldRing.seal(Array("verifier".utf8), context: ConsentSession.verifierContext(id: sessionId)),
                createdAt: clock.now(), expiresAt: clock.now().addingTimeInterval(600)
            ))
            #expect(try await store.deleteWorkloadIdentity(name: "app-one"))
            let before = try await store.sealedVaultValues()
            #expect(Set(before.map(\.column)) == [.grantAccess, .grantRefresh, .consentVerifier, .revocationAccess, .revocationRefresh, .revocationProviderSecret])

            let newRing = KeyRing(keys: [1: oldKey, 2: newKey])
            let progress = try await SecretRewrap(keyRing: newRing, accessKeys: store, providers: store, vault: store).run()
            // The provider's secret, and the six vault values.
            #expect(progress.rewrapped == 1 + before.count && progress.unreadable.isEmpty, "\(progress)")
            let onlyNew = KeyRing(keys: [2: newKey])
            for value in try await store.sealedVaultValues() {
                #expect(try KeyRing.version(of: value.sealed) == 2)
                #expect(throws: Never.self, "\(value.column) opens with the new key alone") { _ = try onlyNew.open(value.sealed, context: value.context) }
            }
            let again = try await SecretRewrap(keyRing: newRing, accessKeys: store, providers: store, vault: store).run()
            #expect(again.rewrapped == 0 && again.current == 1 + before.count)
        }
    }

    static func client(vendor: String, clientId: String = "Iv1.abc", discovered: String? = nil) -> OAuth2Tokens.Client {
        OAuth2Tokens.Client(
            providerId: "p1", providerName: "p", profile: OAuth2VendorProfile.profile(for: vendor),
            registration: OAuth2ClientRegistration(
                clientId: clientId, authorizationEndpoint: "https://a.example/authorize", tokenEndpoint: "https://a.example/token", clientAuthentication: .basic,
                usesPKCE: true, revocationEndpoint: discovered
            ),
            secret: { "s" }
        )
    }

    @Test("each vendor's revocation endpoint: its own, a discovered one, an override that replaces it; none for Microsoft")
    func endpoints() async throws {
        let plain = VendorRevocationClient(configuration: VaultConfiguration())
        #expect(plain.endpoint(for: Self.client(vendor: "GithubOauth2"))?.url == "https://api.github.com/applications/Iv1.abc/token")
        #expect(plain.endpoint(for: Self.client(vendor: "GithubOauth2", clientId: "a/b?c"))?.url == "https://api.github.com/applications/a%2Fb%3Fc/token")
        #expect(plain.endpoint(for: Self.client(vendor: "GithubOauth2"))?.style == .github)
        #expect(plain.endpoint(for: Self.client(vendor: "SlackOauth2"))?.style == .slack)
        #expect(plain.endpoint(for: Self.client(vendor: "ZoomOauth2"))?.url == "https://zoom.us/oauth/revoke")
        #expect(plain.endpoint(for: Self.client(vendor: "MicrosoftOauth2")) == nil)
        #expect(plain.endpoint(for: Self.client(vendor: "CustomOauth2")) == nil, "a server that did not name one")
        let discovered = plain.endpoint(for: Self.client(vendor: "OktaOauth2", discovered: "https://idp.example/oauth2/v1/revoke"))
        #expect(discovered?.url == "https://idp.example/oauth2/v1/revoke" && discovered?.style == .rfc7009)

        let overridden = VendorRevocationClient(configuration: VaultConfiguration(vendorEndpoints: [
            "GithubOauth2": .init(authorizationEndpoint: "http://127.0.0.1:9/a", tokenEndpoint: "http://127.0.0.1:9/t", revocationEndpoint: "http://127.0.0.1:9/apps/{client_id}/token"),
            "SlackOauth2": .init(authorizationEndpoint: "http://127.0.0.1:9/a", tokenEndpoint: "http://127.0.0.1:9/t"),
            "MicrosoftOauth2": .init(authorizationEndpoint: "http://127.0.0.1:9/a", tokenEndpoint: "http://127.0.0.1:9/t", revocationEndpoint: "http://127.0.0.1:9/r"),
        ]))
        #expect(overridden.endpoint(for: Self.client(vendor: "GithubOauth2"))?.url == "http://127.0.0.1:9/apps/Iv1.abc/token")
        #expect(overridden.endpoint(for: Self.client(vendor: "SlackOauth2")) == nil, "an override without one never falls back to the real vendor")
        #expect(overridden.endpoint(for: Self.client(vendor: "MicrosoftOauth2")) == nil)
        // Microsoft has no endpoint to call: nothing goes out.
        #expect(await overridden.revoke(accessToken: "a", refreshToken: "r", client: Self.client(vendor: "MicrosoftOauth2")) == .unsupported)
    }

    @Test("vendors' answers: RFC 7009's 200 for any token, Slack's ok envelope with 200, GitHub's 204 and 422, throttling and outages retried")
    func answers() {
        func read(_ status: Int, _ body: String, _ style: OAuth2VendorProfile.Revocation) -> VendorRevocationClient.Result {
            VendorRevocationClient.read(status: status, body: Array(body.utf8), style: style)
        }
        #expect(read(200, "", .rfc7009) == .revoked)
        #expect(read(200, #"{"status":"success"}"#, .rfc7009) == .revoked)
        #expect(read(400, #"{"reason":"Invalid Token!","error":"invalid_request"}"#, .rfc7009) == .alreadyInvalid, "Zoom's unknown token")
        #expect(read(401, #"{"error":"invalid_client"}"#, .rfc7009) == .rejected("invalid_client"))
        #expect(read(400, #"{"error":"unsupported_token_type"}"#, .rfc7009) == .rejected("unsupported_token_type"))
        #expect(read(503, "", .rfc7009) == .transient("http_503"))
        #expect(read(200, #"{"ok":true,"revoked":true}"#, .slack) == .revoked)
        #expect(read(200, #"{"ok":false,"error":"invalid_auth"}"#, .slack) == .alreadyInvalid)
        #expect(read(200, #"{"ok":false,"error":"token_revoked"}"#, .slack) == .alreadyInvalid)
        #expect(read(429, #"{"ok":false,"error":"ratelimited"}"#, .slack) == .transient("ratelimited"))
        #expect(read(200, #"{"ok":false,"error":"team_access_not_granted"}"#, .slack) == .rejected("team_access_not_granted"))
        #expect(read(204, "", .github) == .revoked)
        #expect(read(422, #"{"message":"Validation Failed"}"#, .github) == .alreadyInvalid)
        #expect(read(404, #"{"message":"Not Found"}"#, .github) == .rejected("http_404"), "GitHub's answer to wrong client credentials")
        #expect(read(502, "", .github) == .transient("http_502"))
    }
}
