import Foundation
@testable import PortcullisCore
import PortcullisIdentity
import PortcullisStore
@testable import PortcullisVault
@testable import PortcullisGateway
import Synchronization
import Testing

/// Deleting a provider, a workload identity or a runtime deletes the vault's grants — and the vendors' tokens with
/// them: the deleting gateway asks each vendor (the GitHub, Slack and Zoom stand-ins, which take revocations as
/// their vendors document) to revoke them, retries a vendor that is down, and audits how each one ended.
@Suite("The token vault revokes deleted grants at their vendors")
struct VaultRevocationTests {
    /// Plays Alice's consent for the setup's workload; returns her vaulted access token.
    static func consented(_ setup: OAuth2VaultTests.Consent) async throws -> String {
        try await TestBrowser.with { (browser: TestBrowser) async throws in
            let started = try await setup.request(["resourceOauth2ReturnUrl": NSNull()])
            let done = try await OAuth2VaultTests.consent(browser, setup, authorizationURL: try #require(started.json["authorizationUrl"] as? String))
            #expect(done.status == 200, "\(done.body)")
            return try #require(try await setup.request(["resourceOauth2ReturnUrl": NSNull()]).json["accessToken"] as? String)
        }
    }

    static func revocationEvents(_ gateway: TestGateway) async throws -> [AuditEvent] {
        await gateway.gateway.audit.flush()
        return try await gateway.gateway.store.auditRecords(AuditQuery(limit: 1000)).map(\.event).filter { $0.kind == .vaultRevocation }
    }

    /// Waits until the queue is empty (the deleting gateway works it at once).
    static func drained(_ gateway: TestGateway) async throws {
        try await CodeDeploymentTests.eventually { try await gateway.gateway.store.vaultRevocationCount() == 0 }
    }

    @Test("deleting a provider revokes each grant as its vendor takes it: GitHub's DELETE with the access token, Slack's auth.revoke, Zoom's RFC 7009 with the refresh token")
    func providerDeleted() async throws {
        for vendorName in ["GithubOauth2", "SlackOauth2", "ZoomOauth2"] {
            try await OAuth2VaultTests.withConsent(vendor: vendorName) { setup in
                let access = try await Self.consented(setup)
                let refresh = try #require(setup.vendor.state.withLock { $0.pairs[access] })
                #expect(setup.vendor.isLive(access))
                #expect(try await OAuth2VaultTests.call(setup.gateway, "DeleteOauth2CredentialProvider", ["name": "github"]).status == 204)
                try await Self.drained(setup.gateway)

                #expect(!setup.vendor.isLive(access), "\(vendorName): the vendor's token died with the grant")
                let calls = setup.vendor.revokeRequests
                #expect(calls.count == 1, "\(vendorName): \(calls.count) revocation calls")
                if vendorName == "ZoomOauth2" {
                    #expect(calls.first?.token == refresh && calls.first?.hint == "refresh_token", "RFC 7009: the refresh token ends the grant")
                } else {
                    #expect(calls.first?.token == access, "\(vendorName) revokes by its access token")
                }
                let events = try await Self.revocationEvents(setup.gateway)
                #expect(events.count == 1)
                let event = try #require(events.first)
                #expect(event.outcome == "success" && event.action == "RevokeVendorToken")
                #expect(event.details["result"] == .string("revoked") && event.details["reason"] == .string("providerDeleted"))
                #expect(event.details["provider"] == .string("github") && event.details["vendor"] == .string(vendorName))
                for body in try await VaultTests.auditBodies(setup.gateway) {
                    #expect(!body.contains(access) && !body.contains(refresh) && !body.contains(setup.vendor.clientSecret), "a secret in the audit trail: \(body)")
                }
                let scraped = String(decoding: setup.gateway.gateway.metrics.exposition(), as: UTF8.self)
                #expect(scraped.contains(#"portcullis_vault_revocations_total{vendor="\#(vendorName)",result="revoked"} 1"#), "\(scraped)")
            }
        }
    }

    @Test("deleting a workload identity revokes its grants only; another workload's grant from the same vendor stays vaulted and live")
    func workloadDeleted() async throws {
        try await OAuth2VaultTests.withConsent { setup in
            let access = try await Self.consented(setup)
            // Another workload's grant for the same user and provider.
            let store = setup.gateway.gateway.store
            _ = try await OAuth2VaultTests.call(setup.gateway, "CreateWorkloadIdentity", ["name": "other-app"])
            let record = try #require(try await store.credentialProvider(kind: .oauth2, name: "github"))
            let client = try await setup.gateway.gateway.credentialProviders.oauth2Client(record)
            let other = setup.vendor.grant()
            try await setup.gateway.gateway.oauth2Tokens.storeConsented(
                VendorTokenResponse(accessToken: other.access, refreshToken: other.refresh, expiresIn: 3600, scope: nil), client: client,
                workload: "other-app", user: setup.alice, scopes: ["repo"]
            )

            #expect(try await OAuth2VaultTests.call(setup.gateway, "DeleteWorkloadIdentity", ["name": "consent-app"]).status == 204)
            try await Self.drained(setup.gateway)
            #expect(!setup.vendor.isLive(access))
            #expect(setup.vendor.isLive(other.access), "another workload's token is not touched")
            #expect(setup.vendor.revokeRequests.map(\.token) == [access])
            let otherKey = VaultToken.Key(providerId: record.id, flow: .user, workload: "other-app", userKey: setup.alice.key, scopes: ["repo"])
            #expect(try await store.vaultToken(otherKey) != nil)
            let event = try #require(try await Self.revocationEvents(setup.gateway).first)
            #expect(event.details["reason"] == .string("workloadDeleted") && event.details["workload"] == .string("consent-app"))
        }
    }

    @Test("a vendor that is down is tried again after a backoff, not before, and the token is then revoked; an attempt is audited either way")
    func vendorDownThenUp() async throws {
        try await OAuth2VaultTests.withConsent(vendor: "SlackOauth2") { setup in
            let access = try await Self.consented(setup)
            setup.vendor.configure { $0.failNextRevocations = 1 }
            #expect(try await OAuth2VaultTests.call(setup.gateway, "DeleteOauth2CredentialProvider", ["name": "github"]).status == 204)
            let store = setup.gateway.gateway.store
            try await CodeDeploymentTests.eventually {
                try await store.dueVaultRevocations(at: setup.clock.now().addingTimeInterval(86_400), limit: 1).first?.lastError != nil
            }
            let waiting = try #require(try await store.dueVaultRevocations(at: setup.clock.now().addingTimeInterval(86_400), limit: 1).first)
            #expect(waiting.attempts == 1 && waiting.lastError == "ratelimited")
            #expect(setup.vendor.isLive(access) && setup.vendor.revokeRequests.count == 1)

            // Not due yet: nobody calls the vendor again.
            #expect(await setup.gateway.gateway.vendorRevocations.run() == 0)
            #expect(setup.vendor.revokeRequests.count == 1)
            // The backoff after one failure is 30 s ± 20 %.
            setup.clock.advance(by: 40)
            #expect(await setup.gateway.gateway.vendorRevocations.run() == 1)
            #expect(setup.vendor.revokeRequests.count == 2 && !setup.vendor.isLive(access))
            #expect(try await store.vaultRevocationCount() == 0)
            let events = try await Self.revocationEvents(setup.gateway)
            #expect(events.map { $0.details["result"] } == [.string("retrying"), .string("revoked")])
            #expect(events.first?.outcome == "failure" && events.first?.details["error"] == .string("ratelimited"))
            #expect(events.map { $0.details["attempt"] } == [.number(1), .number(2)])
        }
    }

    @Test("the queue outlives the deleting request: a sealed vault leaves it untouched, a gateway with its keys works it later")
    func queuedUntilKeysAreLoaded() async throws {
        try await OAuth2VaultTests.withConsent(vendor: "ZoomOauth2") { setup in
            let access = try await Self.consented(setup)
            let gateway = setup.gateway.gateway
            // Deleted without the controller's nudge, as if the gateway died right after its transaction.
            _ = try await gateway.credentialProviders.delete(kind: .oauth2, name: "github")
            #expect(try await gateway.store.vaultRevocationCount() == 1)
            let sealed = VendorRevocations(
                store: gateway.store, providers: gateway.credentialProviders, keyRing: KeyRing(keys: [:]),
                client: VendorRevocationClient(configuration: gateway.configuration.vault), clock: setup.clock, audit: { _ in }, logger: testLogger
            )
            #expect(await sealed.run() == 0)
            #expect(try await gateway.store.vaultRevocationCount() == 1 && setup.vendor.revokeRequests.isEmpty, "a sealed vault calls nobody and keeps the row")
            #expect(await gateway.vendorRevocations.run() == 1)
            #expect(!setup.vendor.isLive(access) && setup.vendor.revokeRequests.count == 1)
        }
    }

    @Test("a vendor with no revocation endpoint: the grant is only forgotten, and the audit says so")
    func unsupported() async throws {
        // The GitHub stand-in without its revocation endpoint configured: an override names all of a vendor's
        // endpoints, so the vault has nowhere to send the token (as with Microsoft).
        let vendor = StandInVendor(style: .github)
        let clock = ManualClock()
        try await vendor.run { vendorURL in
            try await TestGateway.runDevelopment(clock: clock, configure: { configuration in
                configuration.vault.vendorEndpoints = ["GithubOauth2": OAuth2VaultTests.endpoints(vendorURL)]
            }) { gateway in
                let created = try await OAuth2VaultTests.call(gateway, "CreateOauth2CredentialProvider", [
                    "name": "github", "credentialProviderVendor": "GithubOauth2",
                    "oauth2ProviderConfigInput": ["githubOauth2ProviderConfig": ["clientId": vendor.clientId, "clientSecret": vendor.clientSecret]],
                ])
                #expect(created.status == 201)
                _ = try await OAuth2VaultTests.call(gateway, "CreateWorkloadIdentity", ["name": "app"])
                let record = try #require(try await gateway.gateway.store.credentialProvider(kind: .oauth2, name: "github"))
                let client = try await gateway.gateway.credentialProviders.oauth2Client(record)
                let grant = vendor.grant()
                try await gateway.gateway.oauth2Tokens.storeConsented(
                    VendorTokenResponse(accessToken: grant.access, refreshToken: grant.refresh, expiresIn: 3600, scope: nil), client: client,
                    workload: "app", user: .id("alice"), scopes: ["repo"]
                )
                #expect(try await OAuth2VaultTests.call(gateway, "DeleteWorkloadIdentity", ["name": "app"]).status == 204)
                try await Self.drained(gateway)
                #expect(vendor.revokeRequests.isEmpty && vendor.isLive(grant.access))
                let event = try #require(try await Self.revocationEvents(gateway).first)
                #expect(event.details["result"] == .string("unsupported") && event.outcome == "success")
            }
        }
    }
}
