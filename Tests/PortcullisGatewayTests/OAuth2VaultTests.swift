import Foundation
import NIOHTTP1
@testable import PortcullisCore
import PortcullisIdentity
import PortcullisStore
import PortcullisVault
@testable import PortcullisGateway
import Testing

/// OAuth 2.0 credential providers and the vault's OAuth tokens, against local stand-ins for the vendors: the
/// control plane, client-credentials (M2M) minted once, and the user-consent flow through a real browser session
/// — sign-in, the vendor's consent, the callback, the binding — then vaulted tokens, refreshed once however many ask.
@Suite("The token vault: OAuth2 providers, M2M, user consent and refresh")
struct OAuth2VaultTests {
    static let sentinel = "client-secret-SENTINEL-5e0b2c"

    static func call(_ gateway: TestGateway, _ operation: String, _ body: [String: Any], key: String? = nil) async throws -> (status: Int, json: [String: Any], body: String) {
        let result = try await VaultTests.call(gateway, operation, body, key: key)
        return (result.status, result.json, result.body)
    }

    /// A stand-in's endpoints as a `vault.vendorEndpoints` override (with its revocation endpoint when given).
    static func endpoints(_ vendor: String, revocationPath: String? = nil) -> VaultConfiguration.VendorEndpoints {
        VaultConfiguration.VendorEndpoints(
            authorizationEndpoint: vendor + "/authorize", tokenEndpoint: vendor + "/token", revocationEndpoint: revocationPath.map { vendor + $0 }
        )
    }

    @Test("OAuth2 providers: AgentCore shapes with the callbackUrl; endpoints from the vendor override, explicit metadata or discovery; the secret never comes back")
    func providers() async throws {
        let github = StandInVendor(style: .github, clientSecret: Self.sentinel)
        try await TestIdentityProvider.run { idp in
            try await github.run { vendorURL in
                try await TestGateway.run(configure: { $0.vault.vendorEndpoints = ["GithubOauth2": Self.endpoints(vendorURL)] }) { gateway in
                    let created = try await Self.call(gateway, "CreateOauth2CredentialProvider", [
                        "name": "github", "credentialProviderVendor": "GithubOauth2",
                        "oauth2ProviderConfigInput": ["githubOauth2ProviderConfig": ["clientId": github.clientId, "clientSecret": Self.sentinel]],
                    ])
                    #expect(created.status == 201, "\(created.body)")
                    let callback = try #require(created.json["callbackUrl"] as? String)
                    #expect(callback.hasPrefix(gateway.baseURL + "/identities/oauth2/callback/"))
                    #expect(created.json["credentialProviderArn"] as? String == gateway.names.credentialProviderARN(kind: .oauth2, name: "github"))
                    let output = try #require((created.json["oauth2ProviderConfigOutput"] as? [String: Any])?["githubOauth2ProviderConfig"] as? [String: Any])
                    let metadata = (output["oauthDiscovery"] as? [String: Any])?["authorizationServerMetadata"] as? [String: Any]
                    #expect(metadata?["tokenEndpoint"] as? String == vendorURL + "/token", "the gateway's vendor override")
                    #expect(output["clientId"] as? String == github.clientId)

                    let custom = try await Self.call(gateway, "CreateOauth2CredentialProvider", [
                        "name": "corp-idp", "credentialProviderVendor": "CustomOauth2",
                        "oauth2ProviderConfigInput": ["customOauth2ProviderConfig": [
                            "clientId": "c1", "clientSecret": Self.sentinel, "oauthDiscovery": ["discoveryUrl": idp.discoveryURL],
                        ]],
                    ])
                    #expect(custom.status == 201, "\(custom.body)")
                    let record = try #require(try await gateway.gateway.store.credentialProvider(kind: .oauth2, name: "corp-idp"))
                    #expect(CredentialProviders.registration(of: record)?.tokenEndpoint.hasPrefix(idp.issuer) == true, "endpoints from the discovery document")

                    let refusals: [[String: Any]] = [
                        ["name": "x1", "credentialProviderVendor": "NoSuchOauth2", "oauth2ProviderConfigInput": ["githubOauth2ProviderConfig": ["clientId": "a", "clientSecret": "b"]]],
                        ["name": "x2", "credentialProviderVendor": "GithubOauth2", "oauth2ProviderConfigInput": ["slackOauth2ProviderConfig": ["clientId": "a", "clientSecret": "b"]]],
                        ["name": "x3", "credentialProviderVendor": "GithubOauth2", "oauth2ProviderConfigInput": ["githubOauth2ProviderConfig": ["clientId": "a"]]],
                        ["name": "x4", "credentialProviderVendor": "CustomOauth2", "oauth2ProviderConfigInput": ["customOauth2ProviderConfig": [
                            "clientId": "a", "clientSecret": "b",
                            "oauthDiscovery": ["authorizationServerMetadata": ["issuer": "http://idp.example", "authorizationEndpoint": "http://idp.example/a", "tokenEndpoint": "http://idp.example/t"]],
                        ]]],
                    ]
                    for refused in refusals {
                        let answer = try await Self.call(gateway, "CreateOauth2CredentialProvider", refused)
                        #expect(answer.status == 400, "\(refused["name"]!): \(answer.body)")
                    }
                    #expect(try await Self.call(gateway, "GetOauth2CredentialProvider", ["name": "github"], key: gateway.invokeKey).status == 403)
                    let got = try await Self.call(gateway, "GetOauth2CredentialProvider", ["name": "github"])
                    #expect(got.json["callbackUrl"] as? String == callback)
                    let listed = try await Self.call(gateway, "ListOauth2CredentialProviders", [:])
                    #expect((listed.json["credentialProviders"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["corp-idp", "github"])
                    let updated = try await Self.call(gateway, "UpdateOauth2CredentialProvider", [
                        "name": "github", "credentialProviderVendor": "GithubOauth2",
                        "oauth2ProviderConfigInput": ["githubOauth2ProviderConfig": ["clientId": github.clientId, "clientSecret": Self.sentinel + "2"]],
                    ])
                    #expect(updated.status == 200 && updated.json["callbackUrl"] as? String == callback, "the callback URL survives an update")
                    for body in [created.body, custom.body, got.body, listed.body, updated.body] + (try await VaultTests.auditBodies(gateway)) {
                        #expect(!body.contains("SENTINEL"), "the client secret leaked: \(body)")
                    }
                    #expect(try await Self.call(gateway, "DeleteOauth2CredentialProvider", ["name": "corp-idp"]).status == 204)
                }
            }
        }
    }

    @Test("M2M: a hundred concurrent requests make one client-credentials call, and every workload granted the provider shares the token")
    func machineTokens() async throws {
        let vendor = StandInVendor(style: .custom)
        try await vendor.run { vendorURL in
            try await TestGateway.run { gateway in
                let created = try await Self.call(gateway, "CreateOauth2CredentialProvider", [
                    "name": "backend", "credentialProviderVendor": "CustomOauth2", "tags": ["portcullis:workloads": "*"],
                    "oauth2ProviderConfigInput": ["customOauth2ProviderConfig": [
                        "clientId": vendor.clientId, "clientSecret": vendor.clientSecret, "clientAuthenticationMethod": "CLIENT_SECRET_POST",
                        "oauthDiscovery": ["authorizationServerMetadata": ["issuer": vendorURL, "authorizationEndpoint": vendorURL + "/authorize", "tokenEndpoint": vendorURL + "/token"]],
                    ]],
                ])
                #expect(created.status == 201, "\(created.body)")
                for name in ["m2m-one", "m2m-two"] { _ = try await Self.call(gateway, "CreateWorkloadIdentity", ["name": name]) }
                let tokens = gateway.gateway.workloadTokens
                let answers = try await withThrowingTaskGroup(of: String?.self) { group in
                    for index in 0..<100 {
                        let wat = tokens.mint(workload: index % 2 == 0 ? "m2m-one" : "m2m-two", user: nil, now: Date())
                        group.addTask {
                            let answer = try await Self.call(gateway, "oauth2/token", [
                                "workloadIdentityToken": wat, "resourceCredentialProviderName": "backend", "scopes": ["read"], "oauth2Flow": "M2M",
                            ], key: gateway.invokeKey)
                            return answer.json["accessToken"] as? String
                        }
                    }
                    var all: [String?] = []
                    for try await answer in group { all.append(answer) }
                    return all
                }
                #expect(answers.allSatisfy { $0 != nil })
                #expect(Set(answers.compactMap { $0 }).count == 1, "one token for everyone")
                #expect(vendor.tokenRequests("client_credentials") == 1, "minted once")
                #expect(vendor.isLive(try #require(answers.first ?? nil)))
                // A user-consent request for a provider that cannot do it for this workload's token (no user) says why.
                let noUser = try await Self.call(gateway, "oauth2/token", [
                    "workloadIdentityToken": tokens.mint(workload: "m2m-one", user: nil, now: Date()), "resourceCredentialProviderName": "backend",
                    "scopes": ["read"], "oauth2Flow": "USER_FEDERATION",
                ], key: gateway.invokeKey)
                #expect(noUser.status == 400 && (noUser.json["message"] as? String)?.contains("bound to a user") == true, "\(noUser.body)")
                let badScope = try await Self.call(gateway, "oauth2/token", [
                    "workloadIdentityToken": tokens.mint(workload: "m2m-one", user: nil, now: Date()), "resourceCredentialProviderName": "backend",
                    "scopes": ["read,admin"], "oauth2Flow": "M2M",
                ], key: gateway.invokeKey)
                #expect(badScope.status == 400, "a scope with the separator in it is refused")
            }
        }
    }

    /// A dev-mode gateway with a GitHub stand-in, a workload that may use it, and Alice's identity.
    struct Consent {
        var gateway: TestGateway
        var vendor: StandInVendor
        var vendorURL: String
        var alice: WorkloadUser
        var clock: ManualClock

        func wat(_ user: WorkloadUser? = nil) -> String {
            gateway.gateway.workloadTokens.mint(workload: "consent-app", user: user ?? alice, now: clock.now())
        }

        func request(_ extra: [String: Any] = [:], user: WorkloadUser? = nil) async throws -> (status: Int, json: [String: Any], body: String) {
            var body: [String: Any] = [
                "workloadIdentityToken": wat(user), "resourceCredentialProviderName": "github", "scopes": ["repo"], "oauth2Flow": "USER_FEDERATION",
                "resourceOauth2ReturnUrl": "https://app.example.com/oauth/done",
            ]
            body.merge(extra) { $1 }
            return try await OAuth2VaultTests.call(gateway, "oauth2/token", body, key: gateway.invokeKey)
        }
    }

    /// `vendor`: the AgentCore vendor the stand-in plays (its provider is named `github` whatever it is).
    static func withConsent<T: Sendable>(vendor vendorName: String = "GithubOauth2", _ body: (Consent) async throws -> T) async throws -> T {
        let style: StandInVendor.Style = vendorName == "SlackOauth2" ? .slack : vendorName == "ZoomOauth2" ? .zoom : .github
        let vendor = StandInVendor(style: style)
        let clock = ManualClock()
        return try await vendor.run { vendorURL in
            try await TestGateway.runDevelopment(clock: clock, configure: { configuration in
                configuration.vault.vendorEndpoints = [vendorName: Self.endpoints(vendorURL, revocationPath: vendor.revocationPath)]
                configuration.vault.refreshSweepSeconds = 0  // The tests count refreshes.
            }) { gateway in
                let created = try await Self.call(gateway, "CreateOauth2CredentialProvider", [
                    "name": "github", "credentialProviderVendor": vendorName, "tags": ["portcullis:workloads": "consent-app"],
                    "oauth2ProviderConfigInput": [OAuth2ProviderRequest.member(for: vendorName): ["clientId": vendor.clientId, "clientSecret": vendor.clientSecret]],
                ])
                #expect(created.status == 201, "\(created.body)")
                _ = try await Self.call(gateway, "CreateWorkloadIdentity", ["name": "consent-app", "allowedResourceOauth2ReturnUrls": ["https://app.example.com/oauth/done"]])
                let token = try #require(try gateway.gateway.developmentToken(user: "alice", lifetime: 3600))
                let principal = try await gateway.gateway.jwtAuthenticator.authenticate(.bearerToken(token))
                let alice = WorkloadUser.token(issuer: try #require(principal.issuer), subject: try #require(principal.subject))
                return try await body(Consent(gateway: gateway, vendor: vendor, vendorURL: vendorURL, alice: alice, clock: clock))
            }
        }
    }

    /// Plays the user: opens the authorization URL, signs in as `user`, consents at the vendor; returns the callback's answer.
    static func consent(_ browser: TestBrowser, _ setup: Consent, authorizationURL: String, user: String = "alice") async throws -> TestBrowser.Page {
        let gateway = setup.gateway
        let first = try await browser.get(authorizationURL)
        var toVendor = first
        if first.status == 303, first.location?.hasPrefix("/auth/login") == true {
            let returnTo = String(authorizationURL.dropFirst(gateway.baseURL.count))
            _ = try await SignInTests.signIn(browser, gateway, user: user, returnTo: returnTo)
            toVendor = try await browser.get(authorizationURL)
        }
        #expect(toVendor.status == 303, "\(toVendor.body)")
        let vendorURL = try #require(toVendor.location)
        guard vendorURL.hasPrefix(setup.vendorURL) else { return toVendor }
        let approved = try await browser.get(vendorURL)
        #expect(approved.status == 302)
        return try await browser.get(try #require(approved.location))
    }

    @Test("USER_FEDERATION: the user signs in and consents, the application confirms the user, the agent's poll gets the token; a second call needs no consent")
    func userConsent() async throws {
        try await Self.withConsent { setup in
            try await TestBrowser.with { (browser: TestBrowser) async throws in
                let started = try await setup.request()
                #expect(started.status == 200, "\(started.body)")
                #expect(started.json["accessToken"] == nil)
                let url = try #require(started.json["authorizationUrl"] as? String)
                let sessionUri = try #require(started.json["sessionUri"] as? String)
                #expect(url.hasPrefix(setup.gateway.baseURL + "/identities/oauth2/authorize?request_uri="))
                #expect(started.json["sessionStatus"] as? String == "IN_PROGRESS")
                let pending = try await setup.request(["sessionUri": sessionUri])
                #expect(pending.status == 200 && pending.json["accessToken"] == nil && pending.json["sessionStatus"] as? String == "IN_PROGRESS", "the SDK's poll waits")

                let back = try await Self.consent(browser, setup, authorizationURL: url)
                #expect(back.status == 303, "\(back.body)")
                let returned = try #require(back.location)
                #expect(returned.hasPrefix("https://app.example.com/oauth/done?session_id="))
                #expect(returned.contains(PercentEncoding.encodeSegment(sessionUri)))
                #expect(!returned.contains("code=") && !returned.contains("ghu_"), "no code or token in the return URL")
                let asked = try #require(setup.vendor.authorizeRequests.last)
                #expect(asked["code_challenge_method"] == "S256" && asked["code_challenge"] != nil, "PKCE S256 at GitHub")
                #expect(asked["scope"] == "repo")
                #expect(asked["redirect_uri"]?.hasPrefix(setup.gateway.baseURL + "/identities/oauth2/callback/") == true)
                #expect(try await setup.request(["sessionUri": sessionUri]).json["accessToken"] == nil, "held until the application confirms the user")

                // The application behind the return URL confirms who came back: a wrong user ends the session.
                let aliceToken = try #require(try setup.gateway.gateway.developmentToken(user: "alice", lifetime: 600))
                let confirmed = try await Self.call(setup.gateway, "CompleteResourceTokenAuth", ["sessionUri": sessionUri, "userIdentifier": ["userToken": aliceToken]])
                #expect(confirmed.status == 200, "\(confirmed.body)")
                let token = try #require(try await setup.request(["sessionUri": sessionUri]).json["accessToken"] as? String)
                #expect(token.hasPrefix("ghu_") && setup.vendor.isLive(token))
                #expect(setup.vendor.tokenRequests("authorization_code") == 1)

                // Vaulted: the next call gets it at once, without a consent.
                let again = try await setup.request()
                #expect(again.json["accessToken"] as? String == token)
                #expect(setup.vendor.authorizeRequests.count == 1)
                // No plaintext token in the database.
                await setup.gateway.gateway.audit.flush()
                for file in ["/portcullis.sqlite", "/portcullis.sqlite-wal"] {
                    let bytes = FileManager.default.contents(atPath: setup.gateway.gateway.configuration.store.dataDirectory + file) ?? Data()
                    #expect(bytes.range(of: Data(token.utf8)) == nil, "the access token is in \(file) in plain text")
                }
                // The workload's grants go with it.
                let provider = try #require(try await setup.gateway.gateway.store.credentialProvider(kind: .oauth2, name: "github"))
                let key = VaultToken.Key(providerId: provider.id, flow: .user, workload: "consent-app", userKey: setup.alice.key, scopes: ["repo"])
                #expect(try await setup.gateway.gateway.store.vaultToken(key) != nil)
                #expect(try await Self.call(setup.gateway, "DeleteWorkloadIdentity", ["name": "consent-app"]).status == 204)
                #expect(try await setup.gateway.gateway.store.vaultToken(key) == nil)
            }
        }
    }

    @Test("the token is refreshed once however many ask; a lost race adopts the winner's token; the rotated refresh token is never reused")
    func refreshOnce() async throws {
        try await Self.withConsent { setup in
            try await TestBrowser.with { (browser: TestBrowser) async throws in
                let started = try await setup.request(["resourceOauth2ReturnUrl": NSNull()])
                let url = try #require(started.json["authorizationUrl"] as? String)
                // Without a return URL, the signed-in user is the confirmation: the callback completes the consent.
                let done = try await Self.consent(browser, setup, authorizationURL: url)
                #expect(done.status == 200 && done.body.contains("Access granted"), "\(done.body)")
                let first = try #require(try await setup.request(["resourceOauth2ReturnUrl": NSNull()]).json["accessToken"] as? String)

                // An hour on, the token is past its margin: fifty callers at once make one refresh.
                setup.clock.advance(by: 3600)
                setup.vendor.configure { $0.refreshDelay = .milliseconds(300) }
                let answers = try await withThrowingTaskGroup(of: String?.self) { group in
                    for _ in 0..<50 {
                        group.addTask { try await setup.request(["resourceOauth2ReturnUrl": NSNull()]).json["accessToken"] as? String }
                    }
                    var all: [String?] = []
                    for try await answer in group { all.append(answer) }
                    return all
                }
                #expect(setup.vendor.tokenRequests("refresh_token") == 1, "one refresh")
                let refreshed = Set(answers.compactMap { $0 })
                #expect(refreshed.count == 1 && !refreshed.contains(first), "\(answers)")
                #expect(setup.vendor.isLive(try #require(refreshed.first)))
                // Twice more, a day apart: each refresh uses the newest refresh token (never the old one).
                for _ in 0..<2 {
                    setup.clock.advance(by: 86_400)
                    #expect(try await setup.request(["resourceOauth2ReturnUrl": NSNull()]).json["accessToken"] as? String != nil)
                }
                #expect(setup.vendor.tokenRequests("refresh_token") == 3)
                #expect(setup.vendor.reuseDetected == 0, "no refresh token was ever used twice")
            }
        }
    }

    @Test("Slack and Zoom as documented: Slack's comma-separated user_scope without PKCE, its authed_user token and ok envelope; both over HTTP Basic; rotation on every refresh")
    func slackAndZoom() async throws {
        for vendorName in ["SlackOauth2", "ZoomOauth2"] {
            try await Self.withConsent(vendor: vendorName) { setup in
                try await TestBrowser.with { (browser: TestBrowser) async throws in
                    let scopes = vendorName == "SlackOauth2" ? ["channels:read", "chat:write"] : ["meeting:read"]
                    let started = try await setup.request(["resourceOauth2ReturnUrl": NSNull(), "scopes": scopes])
                    let done = try await Self.consent(browser, setup, authorizationURL: try #require(started.json["authorizationUrl"] as? String))
                    #expect(done.status == 200, "\(vendorName): \(done.body)")
                    let asked = try #require(setup.vendor.authorizeRequests.last)
                    if vendorName == "SlackOauth2" {
                        #expect(asked["user_scope"] == "channels:read,chat:write" && asked["scope"] == nil, "\(asked)")
                        #expect(asked["code_challenge"] == nil, "no PKCE at Slack: it would make the app public for good")
                    } else {
                        #expect(asked["scope"] == "meeting:read" && asked["code_challenge_method"] == "S256")
                    }
                    let token = try #require(try await setup.request(["resourceOauth2ReturnUrl": NSNull(), "scopes": scopes]).json["accessToken"] as? String)
                    #expect(setup.vendor.isLive(token))
                    if vendorName == "SlackOauth2" { #expect(token.hasPrefix("xoxp-"), "the user's token, not the bot's") }
                    setup.clock.advance(by: 3600)
                    let refreshed = try #require(try await setup.request(["resourceOauth2ReturnUrl": NSNull(), "scopes": scopes]).json["accessToken"] as? String)
                    #expect(refreshed != token && setup.vendor.isLive(refreshed))
                    #expect(setup.vendor.tokenRequests("refresh_token") == 1 && setup.vendor.reuseDetected == 0)
                }
            }
        }
    }

    @Test("B12: a consent that grants fewer scopes than asked fails and stores nothing; a scope that includes the asked one is enough")
    func insufficientScope() async throws {
        try await Self.withConsent { setup in
            try await TestBrowser.with { (browser: TestBrowser) async throws in
                setup.vendor.configure { $0.grantOnly = "repo" }
                let started = try await setup.request(["scopes": ["repo", "gist"]])
                let url = try #require(started.json["authorizationUrl"] as? String, "\(started.body)")
                let sessionUri = try #require(started.json["sessionUri"] as? String)
                let back = try await Self.consent(browser, setup, authorizationURL: url)
                #expect(back.status == 403 && back.body.contains("missing: gist"), "\(back.status) \(back.body)")
                #expect(setup.vendor.tokenRequests("authorization_code") == 1)
                let poll = try await setup.request(["scopes": ["repo", "gist"], "sessionUri": sessionUri])
                #expect(poll.status == 403 && (poll.json["message"] as? String)?.contains("insufficient_scope") == true, "\(poll.body)")
                let provider = try #require(try await setup.gateway.gateway.store.credentialProvider(kind: .oauth2, name: "github"))
                let key = VaultToken.Key(providerId: provider.id, flow: .user, workload: "consent-app", userKey: setup.alice.key, scopes: ["repo", "gist"])
                #expect(try await setup.gateway.gateway.store.vaultToken(key) == nil, "nothing stored")

                // GitHub answers `repo` for `public_repo` when the user granted `repo` before: that is enough.
                let narrower = try await setup.request(["scopes": ["public_repo"]])
                let narrowerURL = try #require(narrower.json["authorizationUrl"] as? String, "\(narrower.body)")
                let accepted = try await Self.consent(browser, setup, authorizationURL: narrowerURL)
                #expect(accepted.status == 303 && accepted.location?.hasPrefix("https://app.example.com/oauth/done?session_id=") == true, "\(accepted.body)")
            }
        }
    }

    @Test("callbacks refused: unknown or replayed state, another browser, another provider's path, a denial; the code is exchanged at most once")
    func callbackAttacks() async throws {
        try await Self.withConsent { setup in
            try await TestBrowser.with { (victim: TestBrowser) async throws in
                try await TestBrowser.with { (attacker: TestBrowser) async throws in
                    let url = try #require(try await setup.request().json["authorizationUrl"] as? String)
                    let gateway = setup.gateway
                    // The victim gets as far as the vendor; the attacker's browser brings the callback (login CSRF).
                    let first = try await victim.get(url)
                    let returnTo = String(url.dropFirst(gateway.baseURL.count))
                    _ = try await SignInTests.signIn(victim, gateway, user: "alice", returnTo: returnTo)
                    #expect(first.status == 303)
                    let toVendor = try #require(try await victim.get(url).location)
                    let callback = try #require(try await victim.get(toVendor).location)
                    let foreign = try await attacker.get(callback)
                    #expect(foreign.status == 400, "a callback without the browser's cookie")
                    #expect(setup.vendor.tokenRequests("authorization_code") == 0, "the code was not exchanged")
                    // Another provider's callback path with this state: a mix-up.
                    let other = callback.replacingOccurrences(of: "/callback/", with: "/callback/aaaaaaaaaaaaaaaaaaaaaaaaaa")
                    #expect(try await victim.get(other).status == 400)
                    #expect(try await victim.get(gateway.baseURL + "/identities/oauth2/callback/x?state=nope&code=c").status == 400)
                    #expect(try await victim.get(gateway.baseURL + "/identities/oauth2/callback/x?state=" + String(repeating: "a", count: 70_000)).status == 400)
                    #expect(try await victim.get(gateway.baseURL + "/identities/oauth2/callback/x?state=%FF%FE&code=%C0").status == 400, "not UTF-8")
                    // The real one works once; a double click does not exchange again.
                    let ok = try await victim.get(callback)
                    #expect(ok.status == 303, "\(ok.body)")
                    let replay = try await victim.get(callback)
                    #expect(replay.status == 400)
                    #expect(setup.vendor.tokenRequests("authorization_code") == 1)

                    // A consent link forwarded to Bob: Bob is not the user it is for.
                    let forwarded = try #require(try await setup.request(["forceAuthentication": true]).json["authorizationUrl"] as? String)
                    _ = try await SignInTests.signIn(attacker, gateway, user: "bob", returnTo: String(forwarded.dropFirst(gateway.baseURL.count)))
                    let refused = try await attacker.get(forwarded)
                    #expect(refused.status == 403, "\(refused.body)")

                    // The user says no at the vendor: the session fails and the poll says so.
                    let denied = try await setup.request(["forceAuthentication": true])
                    setup.vendor.configure { $0.denyNext = true }
                    let answer = try await Self.consent(victim, setup, authorizationURL: try #require(denied.json["authorizationUrl"] as? String))
                    #expect(answer.status == 400)
                    let poll = try await setup.request(["sessionUri": try #require(denied.json["sessionUri"] as? String)])
                    #expect(poll.status == 403, "\(poll.body)")

                    // A return URL must match the workload's list exactly.
                    for bad in ["https://app.example.com/oauth/done/", "https://APP.example.com/oauth/done", "https://app.example.com.evil.example/oauth/done", "//evil.example"] {
                        #expect(try await setup.request(["resourceOauth2ReturnUrl": bad]).status == 400, "\(bad)")
                    }
                    #expect(try await setup.request(["customParameters": ["redirect_uri": "https://evil.example"]]).status == 400)

                    // B13: another user's workload token cannot poll this user's session.
                    let bobs = try await setup.request(["forceAuthentication": true])
                    let bobPoll = try await setup.request(["sessionUri": try #require(bobs.json["sessionUri"] as? String)], user: .id("bob"))
                    #expect(bobPoll.status == 403, "\(bobPoll.body)")

                    // B1: a state past the session's expiry is refused, and the code is not exchanged.
                    let expiring = try await setup.request(["forceAuthentication": true])
                    let lateURL = try #require(expiring.json["authorizationUrl"] as? String)
                    let toLateVendor = try #require(try await victim.get(lateURL).location)
                    let lateCallback = try #require(try await victim.get(toLateVendor).location)
                    let exchanges = setup.vendor.tokenRequests("authorization_code")
                    setup.clock.advance(by: ConsentFlow.lifetimeSeconds + 1)
                    #expect(try await victim.get(lateCallback).status == 400)
                    #expect(setup.vendor.tokenRequests("authorization_code") == exchanges)

                    // The application confirms the wrong user: the token is not released, and the session is over.
                    let mismatch = try await setup.request(["forceAuthentication": true])
                    let sessionUri = try #require(mismatch.json["sessionUri"] as? String)
                    let returned = try await Self.consent(victim, setup, authorizationURL: try #require(mismatch.json["authorizationUrl"] as? String))
                    #expect(returned.status == 303)
                    let bobToken = try #require(try gateway.gateway.developmentToken(user: "bob", lifetime: 600))
                    let wrong = try await Self.call(gateway, "CompleteResourceTokenAuth", ["sessionUri": sessionUri, "userIdentifier": ["userToken": bobToken]])
                    #expect(wrong.status == 403, "\(wrong.body)")
                    let aliceToken = try #require(try gateway.gateway.developmentToken(user: "alice", lifetime: 600))
                    let late = try await Self.call(gateway, "CompleteResourceTokenAuth", ["sessionUri": sessionUri, "userIdentifier": ["userToken": aliceToken]])
                    #expect(late.status == 400, "the session ended with the mismatch: \(late.body)")
                    #expect(try await setup.request(["sessionUri": sessionUri]).status == 403)
                    let byId = try await Self.call(gateway, "CompleteResourceTokenAuth", ["sessionUri": sessionUri, "userIdentifier": ["userId": "alice"]], key: gateway.invokeKey)
                    #expect(byId.status == 403, "an invoke-only key may not confirm users")
                }
            }
        }
    }
}
