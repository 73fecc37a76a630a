import Foundation
@testable import PortcullisCore
@testable import PortcullisIdentity
import Synchronization
import Testing

/// Tokens shaped exactly like each provider's (claims and issuers from their documentation), served by a local
/// provider whose discovery document names the vendor's issuer — as a local IdP's discovery host differs from
/// the issuer.
@Suite("Issuer profiles: Okta, Entra ID, Cognito, generic OIDC")
struct IssuerProfileTests {
    static func authenticate(
        _ provider: TestIdentityProvider,
        _ issuer: IssuerConfiguration,
        _ claims: [String: JSONValue],
        header: [String: JSONValue] = ["typ": .string("JWT")]
    ) async throws -> Result<Principal, AuthenticationError> {
        let registry = IssuerRegistry(configuration: AuthConfiguration(issuers: [issuer], tokenCacheEntries: 0), http: .shared, logger: testLogger)
        let authenticator = JWTAuthenticator(registry: registry, logger: testLogger)
        await registry.hydrate()
        let now = Date().timeIntervalSince1970.rounded(.down)
        var all = claims
        if all["exp"] == nil { all["exp"] = .number(now + 600) }
        if all["iat"] == nil { all["iat"] = .number(now) }
        let token = try provider.signingKey.sign(claims: all, header: header)
        do {
            return .success(try await authenticator.authenticate(.bearerToken(token)))
        } catch {
            return .failure(error)
        }
    }

    // MARK: - Okta

    static let oktaIssuer = "https://dev-133337.okta.com/oauth2/default"

    static func oktaClaims(_ changes: [String: JSONValue] = [:]) -> [String: JSONValue] {
        var claims: [String: JSONValue] = [
            "ver": .number(1), "jti": .string("AT.0mP4JKAZX1iACIT4vbEDF7LpvDVjxypPMf0D7uX39RE"), "iss": .string(oktaIssuer),
            "aud": .string("api://default"), "cid": .string("0oa1gkh63g214r0Hq0g4"), "uid": .string("00uid4BxXw6I6TV4m0g3"),
            "scp": .array([.string("openid"), .string("agents:invoke")]), "auth_time": .number(1_700_000_000),
            "sub": .string("john.doe@example.com"), "groups": .array([.string("Everyone"), .string("support-agents")]),
        ]
        for (name, value) in changes { claims[name] = value }
        return claims
    }

    @Test("Okta custom authorization server: cid, uid and scp as an array")
    func okta() async throws {
        try await TestIdentityProvider.run(issuer: Self.oktaIssuer) { provider in
            let configuration = IssuerConfiguration(name: "okta", profile: .okta, discoveryURL: provider.discoveryURL, audiences: ["api://default"])
            let principal = try await Self.authenticate(provider, configuration, Self.oktaClaims()).get()
            #expect(principal.id == "\(Self.oktaIssuer)|john.doe@example.com")
            #expect(principal.clientId == "0oa1gkh63g214r0Hq0g4")
            #expect(principal.scopes == ["openid", "agents:invoke"])
            #expect(principal.groups == ["Everyone", "support-agents"])
            #expect(principal.claims["uid"] == .string("00uid4BxXw6I6TV4m0g3"))
            #expect(principal.issuerName == "okta")
            let wrongAudience = try await Self.authenticate(provider, configuration, Self.oktaClaims(["aud": .string("https://dev-133337.okta.com")]))
            #expect(wrongAudience.failure?.failure == .wrongAudience)
        }
    }

    @Test("Okta org authorization server tokens are refused")
    func oktaOrgServer() async throws {
        try await TestIdentityProvider.run(issuer: "https://dev-133337.okta.com") { provider in
            let configuration = IssuerConfiguration(name: "okta-org", profile: .okta, discoveryURL: provider.discoveryURL)
            let result = try await Self.authenticate(provider, configuration, Self.oktaClaims(["iss": .string("https://dev-133337.okta.com"), "aud": .string("https://dev-133337.okta.com")]))
            #expect(result.failure?.failure == .tokenRefused)
        }
        #expect(throws: ConfigurationError.self) {
            try IssuerConfiguration(name: "okta", profile: .okta, issuer: "https://dev-133337.okta.com", jwksURI: "https://dev-133337.okta.com/oauth2/v1/keys").validate()
        }
    }

    // MARK: - Entra ID

    static let tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    static let otherTenant = "9188040d-6c67-4c5b-b112-36a304b66dad"
    static let apiClientId = "6e74172b-be56-4843-9ff4-e66a39bb12e3"

    static func entraV2(tenant: String = tenant, _ changes: [String: JSONValue] = [:]) -> [String: JSONValue] {
        var claims: [String: JSONValue] = [
            "aud": .string(apiClientId), "iss": .string("https://login.microsoftonline.com/\(tenant)/v2.0"),
            "nbf": .number(Date().timeIntervalSince1970.rounded(.down) - 10), "aio": .string("AXQAi/8UAAAA"),
            "azp": .string("b0b5c4ab-1b14-4a17-b3e5-10a3e7e1b2c9"), "azpacr": .string("0"), "name": .string("Abe Lincoln"),
            "oid": .string("690222be-ff1a-4d56-abd1-7e4f7d38e474"), "preferred_username": .string("abeli@microsoft.com"),
            "rh": .string("I"), "scp": .string("access_as_user Agents.Invoke"), "sub": .string("HKZpfaHyWadeOouYlitjrI-KffTm222X5rrV3xDqfKQ"),
            "tid": .string(tenant), "uti": .string("fqiBqXLPj0eQa82S-IYFAA"), "ver": .string("2.0"),
            "groups": .array([.string("0d5f1a2b-7c3e-4e1a-9a0b-1c2d3e4f5a6b")]),
        ]
        for (name, value) in changes { claims[name] = value }
        return claims
    }

    static func entraV1(tenant: String = tenant) -> [String: JSONValue] {
        [
            "aud": .string("api://\(apiClientId)"), "iss": .string("https://sts.windows.net/\(tenant)/"),
            "appid": .string("b0b5c4ab-1b14-4a17-b3e5-10a3e7e1b2c9"), "appidacr": .string("0"),
            "oid": .string("690222be-ff1a-4d56-abd1-7e4f7d38e474"), "upn": .string("abeli@microsoft.com"),
            "scp": .string("access_as_user"), "roles": .array([.string("Agents.Admin")]),
            "sub": .string("l3_roISQU222bULS9yi2k0XpqpOiMz5H3ZACo1GeXA"), "tid": .string(tenant), "ver": .string("1.0"),
        ]
    }

    @Test("Entra single tenant: v1 and v2 tokens of one user are one principal; scp and roles are scopes")
    func entraSingleTenant() async throws {
        try await TestIdentityProvider.run(issuer: "https://login.microsoftonline.com/\(Self.tenant)/v2.0") { provider in
            let configuration = IssuerConfiguration(
                name: "entra",
                profile: .entra,
                discoveryURL: provider.discoveryURL,
                audiences: [Self.apiClientId, "api://\(Self.apiClientId)"]
            )
            let v2 = try await Self.authenticate(provider, configuration, Self.entraV2()).get()
            let v1 = try await Self.authenticate(provider, configuration, Self.entraV1()).get()
            #expect(v2.id == v1.id, "identity is (tenant, oid), whatever the token version")
            #expect(v2.id == "https://login.microsoftonline.com/\(Self.tenant)/v2.0|690222be-ff1a-4d56-abd1-7e4f7d38e474")
            #expect(v2.tenant == Self.tenant && v1.tenant == Self.tenant)
            #expect(v2.scopes == ["access_as_user", "Agents.Invoke"])
            #expect(v1.scopes == ["access_as_user", "Agents.Admin"])
            #expect(v2.clientId == "b0b5c4ab-1b14-4a17-b3e5-10a3e7e1b2c9" && v1.clientId == v2.clientId, "azp (v2) and appid (v1)")
            #expect(v2.displayName == "abeli@microsoft.com")
            #expect(!v2.groupsIncomplete && v2.groups.count == 1)
            #expect(provider.state.withLock { $0.lastKeySetQuery } == nil)
            var withAppId = configuration
            withAppId.appId = Self.apiClientId
            #expect(try await Self.authenticate(provider, withAppId, Self.entraV2()).success != nil)
            #expect(provider.state.withLock { $0.lastKeySetQuery } == "appid=\(Self.apiClientId)", "keys fetched with ?appid=")
            // Another tenant's token does not come from this issuer.
            let foreign = try await Self.authenticate(provider, configuration, Self.entraV2(tenant: Self.otherTenant))
            #expect(foreign.failure?.failure == .untrustedIssuer)
        }
    }

    @Test("Entra multi-tenant: {tenantid} resolved from tid against the tenant allowlist")
    func entraMultiTenant() async throws {
        try await TestIdentityProvider.run(issuer: "https://login.microsoftonline.com/{tenantid}/v2.0") { provider in
            let configuration = IssuerConfiguration(
                name: "entra-common",
                profile: .entra,
                discoveryURL: provider.discoveryURL,
                audiences: [Self.apiClientId],
                tenants: [Self.tenant]
            )
            let allowed = try await Self.authenticate(provider, configuration, Self.entraV2())
            #expect(allowed.success?.issuer == "https://login.microsoftonline.com/\(Self.tenant)/v2.0")
            let other = try await Self.authenticate(provider, configuration, Self.entraV2(tenant: Self.otherTenant))
            #expect(other.failure?.failure == .untrustedIssuer, "a tenant off the allowlist")
            let notGUID = try await Self.authenticate(provider, configuration, Self.entraV2(tenant: "contoso", ["iss": .string("https://login.microsoftonline.com/contoso/v2.0")]))
            #expect(notGUID.failure?.failure == .untrustedIssuer)
            let mismatched = try await Self.authenticate(provider, configuration, Self.entraV2(["iss": .string("https://login.microsoftonline.com/\(Self.otherTenant)/v2.0")]))
            #expect(mismatched.failure?.failure == .untrustedIssuer, "iss must name the token's own tid")
        }
        #expect(throws: ConfigurationError.self) {
            try IssuerConfiguration(name: "e", profile: .entra, issuer: "https://login.microsoftonline.com/{tenantid}/v2.0", jwksURI: "https://login.microsoftonline.com/common/discovery/v2.0/keys").validate()
        }
    }

    @Test("Entra: groups overage is unknown, Graph tokens are refused")
    func entraOverageAndGraph() async throws {
        try await TestIdentityProvider.run(issuer: "https://login.microsoftonline.com/\(Self.tenant)/v2.0") { provider in
            let configuration = IssuerConfiguration(name: "entra", profile: .entra, discoveryURL: provider.discoveryURL)
            let overage = try await Self.authenticate(provider, configuration, Self.entraV2([
                "groups": .null, "_claim_names": .object(["groups": .string("src1")]),
                "_claim_sources": .object(["src1": .object(["endpoint": .string("https://graph.microsoft.com/v1.0/users/x/getMemberObjects")])]),
            ].filter { $0.value != .null })).get()
            #expect(overage.groupsIncomplete)
            let graph = try await Self.authenticate(provider, configuration, Self.entraV2(["aud": .string("00000003-0000-0000-c000-000000000000")]))
            #expect(graph.failure?.failure == .wrongAudience)
            let graphURL = try await Self.authenticate(provider, configuration, Self.entraV2(["aud": .string("https://graph.microsoft.com")]))
            #expect(graphURL.failure?.failure == .wrongAudience)
            let nonceHeader = try await Self.authenticate(provider, configuration, Self.entraV2(), header: ["typ": .string("JWT"), "nonce": .string("abc")])
            #expect(nonceHeader.failure?.failure == .tokenRefused)
        }
    }

    // MARK: - Cognito

    static let cognitoIssuer = "https://cognito-idp.us-west-2.amazonaws.com/us-west-2_aaaaaaaaa"

    static func cognitoAccess(_ changes: [String: JSONValue] = [:]) -> [String: JSONValue] {
        var claims: [String: JSONValue] = [
            "sub": .string("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"), "cognito:groups": .array([.string("admin"), .string("support")]),
            "iss": .string(cognitoIssuer), "version": .number(2), "client_id": .string("1example23456789"),
            "origin_jti": .string("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"), "event_id": .string("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"),
            "token_use": .string("access"), "scope": .string("phone openid profile resourceserver/1.0 email"),
            "auth_time": .number(1_676_312_777), "jti": .string("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"), "username": .string("my-test-user"),
        ]
        for (name, value) in changes { claims[name] = value }
        return claims
    }

    @Test("Cognito: access tokens without aud are checked by client_id; ID tokens only when configured")
    func cognito() async throws {
        try await TestIdentityProvider.run(issuer: Self.cognitoIssuer) { provider in
            let configuration = IssuerConfiguration(name: "cognito", profile: .cognito, discoveryURL: provider.discoveryURL, clientIds: ["1example23456789"])
            let principal = try await Self.authenticate(provider, configuration, Self.cognitoAccess()).get()
            #expect(principal.clientId == "1example23456789")
            #expect(principal.scopes == ["phone", "openid", "profile", "resourceserver/1.0", "email"])
            #expect(principal.groups == ["admin", "support"])
            #expect(principal.displayName == "my-test-user")
            let otherClient = try await Self.authenticate(provider, configuration, Self.cognitoAccess(["client_id": .string("2other")]))
            #expect(otherClient.failure?.failure == .wrongClient)
            let idToken: [String: JSONValue] = [
                "sub": .string("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"), "iss": .string(Self.cognitoIssuer), "aud": .string("1example23456789"),
                "token_use": .string("id"), "cognito:username": .string("my-test-user"), "email": .string("user@example.com"),
            ]
            let refused = try await Self.authenticate(provider, configuration, idToken)
            #expect(refused.failure?.failure == .wrongTokenType)
            var accepting = configuration
            accepting.acceptIdTokens = true
            let accepted = try await Self.authenticate(provider, accepting, idToken).get()
            #expect(accepted.clientId == "1example23456789", "an ID token's client is its aud")
            let noUse = try await Self.authenticate(provider, configuration, Self.cognitoAccess(["token_use": .null].filter { $0.value != .null }).filter { $0.key != "token_use" })
            #expect(noUse.failure?.failure == .wrongTokenType)
        }
    }

    // MARK: - Generic OIDC

    @Test("generic OIDC: every claim name configurable")
    func genericMapping() async throws {
        try await TestIdentityProvider.run { provider in
            let configuration = IssuerConfiguration(
                name: "keycloak",
                discoveryURL: provider.discoveryURL,
                claims: ClaimMapping(subject: "preferred_username", groups: "realm_roles", scopes: ["permissions"], clientId: "azp", tenant: "org")
            )
            let principal = try await Self.authenticate(provider, configuration, [
                "iss": .string(provider.issuer), "sub": .string("f:123"), "preferred_username": .string("alice"),
                "realm_roles": .array([.string("agents")]), "permissions": .string("read write"), "azp": .string("web-app"), "org": .string("acme"),
            ]).get()
            #expect(principal.subject == "alice" && principal.id == "\(provider.issuer)|alice")
            #expect(principal.groups == ["agents"] && principal.scopes == ["read", "write"])
            #expect(principal.clientId == "web-app" && principal.tenant == "acme")
            let noSubject = try await Self.authenticate(provider, configuration, ["iss": .string(provider.issuer), "sub": .string("f:123")])
            #expect(noSubject.failure?.failure == .malformedToken)
        }
    }

    @Test("the profile an unlisted issuer gets follows from its URL")
    func inferredProfiles() {
        #expect(IssuerProfileKind.inferred(fromIssuer: Self.cognitoIssuer) == .cognito)
        #expect(IssuerProfileKind.inferred(fromIssuer: "https://login.microsoftonline.com/\(Self.tenant)/v2.0") == .entra)
        #expect(IssuerProfileKind.inferred(fromIssuer: Self.oktaIssuer) == .okta)
        #expect(IssuerProfileKind.inferred(fromIssuer: "https://dev-133337.okta.com") == .oidc)
        #expect(IssuerProfileKind.inferred(fromIssuer: "https://accounts.google.com") == .oidc)
    }
}

extension Result {
    var success: Success? {
        if case .success(let value) = self { return value }
        return nil
    }

    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
