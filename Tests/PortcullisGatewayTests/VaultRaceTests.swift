import Crypto
import Foundation
import NIOHTTP1
import Synchronization
@testable import PortcullisCore
import PortcullisStore
@testable import PortcullisVault
@testable import PortcullisGateway
import Testing

/// The token vault's races and crashes (`research/vault-anchors.md` §4.4, R2–R11 (R10 across processes too), C1–C3 and C6–C8), against a Zoom
/// stand-in whose refresh tokens are single-use and whose reuse detection revokes the whole grant: two refreshers
/// (two vaults on one store, as two gateways are) stalled or killed at the named points of a refresh.
@Suite("The token vault under races and crashes")
struct VaultRaceTests {
    struct Setup {
        var gateway: TestGateway
        var vendor: StandInVendor
        var vendorURL: String
        var client: OAuth2Tokens.Client
        var user = WorkloadUser.id("user-9")
        var scopes = ["meeting:read"]
        var firstAccess: String

        /// A second vault on the same store, as another gateway has: its own lease owner, a two-second lease (so a
        /// refresh younger than four seconds is in flight).
        func vault(_ faults: VaultFaultPoints = .none, clock: any WallClock = SystemWallClock()) -> OAuth2Tokens {
            OAuth2Tokens(
                store: gateway.gateway.store, keyRing: gateway.gateway.keyRing, client: VendorTokenClient(timeout: .seconds(5)), clock: clock,
                logger: testLogger, pollInterval: .milliseconds(50), leaseSeconds: 2, faults: faults
            )
        }

        func key() -> VaultToken.Key {
            VaultToken.Key(providerId: client.providerId, flow: .user, workload: "race-app", userKey: user.key, scopes: scopes)
        }

        func token(_ vault: OAuth2Tokens) async throws -> OAuth2Tokens.Outcome {
            try await vault.userToken(client, workload: "race-app", user: user, scopes: scopes)
        }
    }

    /// A gateway with a Zoom provider and a consented grant whose access token has just expired.
    static func withExpiredGrant<T: Sendable>(lease: Int = 60, _ body: (Setup) async throws -> T) async throws -> T {
        let vendor = StandInVendor(style: .zoom)
        return try await vendor.run { vendorURL in
            try await TestGateway.run(configure: { configuration in
                configuration.vault.vendorEndpoints = ["ZoomOauth2": OAuth2VaultTests.endpoints(vendorURL, revocationPath: vendor.revocationPath)]
                configuration.vault.refreshLeaseSeconds = lease
                // Refresh counts are what these tests prove: no background sweep adds its own.
                configuration.vault.refreshSweepSeconds = 0
            }) { gateway in
                _ = try await OAuth2VaultTests.call(gateway, "CreateWorkloadIdentity", ["name": "race-app"])
                let created = try await OAuth2VaultTests.call(gateway, "CreateOauth2CredentialProvider", [
                    "name": "zoom", "credentialProviderVendor": "ZoomOauth2", "tags": ["portcullis:workloads": "race-app"],
                    "oauth2ProviderConfigInput": ["includedOauth2ProviderConfig": ["clientId": vendor.clientId, "clientSecret": vendor.clientSecret]],
                ])
                #expect(created.status == 201, "\(created.body)")
                let record = try #require(try await gateway.gateway.store.credentialProvider(kind: .oauth2, name: "zoom"))
                let client = try await gateway.gateway.credentialProviders.oauth2Client(record)
                let (access, refresh) = vendor.grant()
                let setup = Setup(gateway: gateway, vendor: vendor, vendorURL: vendorURL, client: client, firstAccess: access)
                try await gateway.gateway.oauth2Tokens.storeConsented(
                    VendorTokenResponse(accessToken: access, refreshToken: refresh, expiresIn: 1, scope: nil), client: client, workload: "race-app",
                    user: setup.user, scopes: setup.scopes
                )
                try await Task.sleep(for: .milliseconds(1100))
                return try await body(setup)
            }
        }
    }

    static func accessToken(_ outcome: OAuth2Tokens.Outcome) -> String? {
        if case .token(let token, _) = outcome { return token }
        return nil
    }

    /// A fault that pauses at `point` once.
    static func pause(at point: VaultFaultPoints.Point, for duration: Duration, then action: @escaping @Sendable () async -> Void = {}) -> VaultFaultPoints {
        let once = Mutex(false)
        return VaultFaultPoints { reached in
            guard reached == point, once.withLock({ paused in defer { paused = true }; return !paused }) else { return }
            await action()
            try? await Task.sleep(for: duration)
        }
    }

    @Test("R4: a refresher paused before its vendor call past its lease finds the token rotated by the other and takes that; one refresh, no reuse")
    func pausedBeforeTheCall() async throws {
        try await Self.withExpiredGrant { setup in
            // Paused past the in-flight window: the other refresher takes over.
            let stalled = setup.vault(Self.pause(at: .beforeVendorCall, for: .milliseconds(4500)))
            let other = setup.vault()
            async let first = setup.token(stalled)
            try await Task.sleep(for: .milliseconds(200))
            let second = try await setup.token(other)
            let firstToken = Self.accessToken(try await first)
            #expect(firstToken != nil && firstToken == Self.accessToken(second), "both hand out the one refreshed token")
            #expect(setup.vendor.tokenRequests("refresh_token") == 1)
            #expect(setup.vendor.reuseDetected == 0, "the paused refresher never spent the old refresh token")
            #expect(try await setup.gateway.gateway.store.vaultToken(setup.key())?.status == .active)
        }
    }

    @Test("R5: while a refresh that got its answer is paused before its commit, the other refresher waits instead of spending the token; the late commit stands")
    func pausedBeforeTheCommit() async throws {
        try await Self.withExpiredGrant { setup in
            let stalled = setup.vault(Self.pause(at: .afterVendorAnswer, for: .milliseconds(1500)))
            let other = setup.vault()
            async let first = setup.token(stalled)
            try await Task.sleep(for: .milliseconds(200))
            let second = try await setup.token(other)
            let firstToken = Self.accessToken(try await first)
            #expect(firstToken != nil && firstToken == Self.accessToken(second))
            #expect(setup.vendor.tokenRequests("refresh_token") == 1 && setup.vendor.reuseDetected == 0)
            #expect(setup.vendor.isLive(try #require(firstToken)))
            #expect(try await setup.gateway.gateway.store.vaultToken(setup.key())?.status == .active)
        }
    }

    @Test("R6: a refresh racing a new consent: the consent's grant wins and the stale refresh is discarded")
    func refreshRacingConsent() async throws {
        try await Self.withExpiredGrant { setup in
            let (newAccess, newRefresh) = setup.vendor.grant()
            let consent = setup.gateway.gateway.oauth2Tokens
            let vault = setup.vault(Self.pause(at: .afterVendorAnswer, for: .milliseconds(300)) {
                try? await consent.storeConsented(
                    VendorTokenResponse(accessToken: newAccess, refreshToken: newRefresh, expiresIn: 3600, scope: nil), client: setup.client,
                    workload: "race-app", user: setup.user, scopes: setup.scopes
                )
            })
            #expect(Self.accessToken(try await setup.token(vault)) == newAccess, "the newer grant is handed out")
            let stored = try #require(try await setup.gateway.gateway.store.vaultToken(setup.key()))
            #expect(stored.refreshHash == OAuth2Tokens.hash(newRefresh), "the consent's refresh token was not overwritten")
        }
    }

    @Test("R7: a refresh racing the provider's deletion does not bring the grant back, and the pair it brought is revoked too")
    func refreshRacingDeletion() async throws {
        try await Self.withExpiredGrant { setup in
            let gateway = setup.gateway
            let vault = setup.vault(Self.pause(at: .afterVendorAnswer, for: .milliseconds(300)) {
                _ = try? await OAuth2VaultTests.call(gateway, "DeleteOauth2CredentialProvider", ["name": "zoom"])
            })
            let outcome = try await setup.token(vault)
            #expect(outcome == .needsConsent)
            let remaining = try await gateway.gateway.store.vaultToken(setup.key())
            #expect(remaining == nil, "no resurrection")
            // The deleted grant's tokens and the pair the refresh brought meanwhile both went to the vendor.
            await gateway.gateway.vendorRevocations.run()
            try await VaultRevocationTests.drained(gateway)
            let reasons = try await VaultRevocationTests.revocationEvents(gateway).compactMap { $0.details["reason"]?.stringValue }
            #expect(reasons.sorted() == ["providerDeleted", "refreshAfterDelete"])
            #expect(setup.vendor.tokenRequests("refresh_token") == 1)
            let fresh = try #require(setup.vendor.issuedAccessTokens.first { $0 != setup.firstAccess })
            let freshRefresh = try #require(setup.vendor.state.withLock { $0.pairs[fresh] })
            #expect(setup.vendor.revokeRequests.map(\.token).contains(freshRefresh), "the refreshed pair was revoked by its own refresh token")
            #expect(setup.vendor.issuedAccessTokens.allSatisfy { !setup.vendor.isLive($0) })
        }
    }

    @Test("R9 and R11: two consents completing together leave one grant; a background sweep and a request refresh a token once between them")
    func consentsAndSweep() async throws {
        try await Self.withExpiredGrant { setup in
            let vault = setup.vault()
            let other = setup.vault()
            let grants = [setup.vendor.grant(), setup.vendor.grant()]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, grant) in grants.enumerated() {
                    let target = index == 0 ? vault : other
                    group.addTask {
                        try await target.storeConsented(
                            VendorTokenResponse(accessToken: grant.access, refreshToken: grant.refresh, expiresIn: 1, scope: nil), client: setup.client,
                            workload: "race-app", user: setup.user, scopes: setup.scopes
                        )
                    }
                }
                try await group.waitForAll()
            }
            let stored = try #require(try await setup.gateway.gateway.store.vaultToken(setup.key()))
            #expect(grants.map { OAuth2Tokens.hash($0.refresh) }.contains(stored.refreshHash ?? ""), "one of the two grants, whole")
            #expect(stored.generation >= 2)
            try await Task.sleep(for: .milliseconds(1100))
            async let swept = vault.sweep { _ in setup.client }
            let asked = try await setup.token(other)
            #expect(await swept <= 1)
            #expect(Self.accessToken(asked) != nil)
            #expect(setup.vendor.tokenRequests("refresh_token") == 1, "one refresh between the sweep and the request")
            #expect(setup.vendor.reuseDetected == 0)
        }
    }

    /// A second gateway, `portcullis serve` in its own process on the test gateway's data directory (store, keys)
    /// and policies, with the vendor stand-in; `crashAt` makes it kill itself at that point of its first refresh. Its
    /// log (at `logLevel`) is its output.
    /// Returns it with its port.
    static func secondGateway(
        _ setup: Setup, crashAt point: VaultFaultPoints.Point? = nil, logLevel: String = "notice", extraConfiguration: String = ""
    ) async throws -> (RunningProcess, Int) {
        let binary = try #require(CLITests.binary)
        let configuration = setup.gateway.gateway.configuration
        let file = configuration.store.dataDirectory + "/second-\(SecureRandom.base32(6)).yaml"
        try """
            server:
              listen: 127.0.0.1:0
            store:
              dataDirectory: \(configuration.store.dataDirectory)
            policies:
              directory: \(configuration.policies.directory)
            sandbox:
              driver: none
            vault:
              refreshLeaseSeconds: \(configuration.vault.refreshLeaseSeconds)
              refreshSweepSeconds: 0
              vendorEndpoints:
                ZoomOauth2:
                  authorizationEndpoint: \(setup.vendorURL)/authorize
                  tokenEndpoint: \(setup.vendorURL)/token
            logging:
              level: \(logLevel)
            \(extraConfiguration)
            """.write(toFile: file, atomically: true, encoding: .utf8)
        let environment = point.map { [VaultFaultPoints.environmentVariable: "crash:" + $0.rawValue] } ?? [:]
        let process = try RunningProcess(binary, ["serve", "--config", file], environment: environment)
        do {
            return (process, try #require(Int(try await process.waitFor(#""address":"http://127\.0\.0\.1:(\d+)""#))))
        } catch {
            process.terminate()
            throw error
        }
    }

    @Test(
        "R2: two gateway processes on one SQLite file refresh an expired token exactly once between them, and both hand out the new one",
        .enabled(if: CLITests.binary != nil, "build the portcullis product first")
    )
    func refreshAcrossProcesses() async throws {
        try await Self.withExpiredGrant { setup in
            setup.vendor.configure { $0.refreshDelay = .milliseconds(400) }
            let (second, port) = try await Self.secondGateway(setup)
            defer { second.terminate() }
            let bases = [setup.gateway.baseURL, "http://127.0.0.1:\(port)"]
            let answers = try await Self.burst(across: bases) { base in try await Self.request(setup, base: base, returnURL: false) }
            #expect(answers.allSatisfy { $0.0 == 200 }, "\(answers.map(\.0)) \(second.output.suffix(2000))")
            let tokens = Set(answers.compactMap(\.1))
            #expect(tokens.count == 1 && !tokens.contains(setup.firstAccess), "\(tokens)")
            #expect(setup.vendor.tokenRequests("refresh_token") == 1, "one refresh between two processes")
            #expect(setup.vendor.reuseDetected == 0, "the rotated refresh token was never replayed")
            #expect(setup.vendor.isLive(try #require(tokens.first)))
        }
    }

    /// Forty token requests at once, alternating between the gateways at `bases`: each one's status and token.
    static func burst(
        across bases: [String], _ request: @escaping @Sendable (String) async throws -> (status: Int, json: [String: Any])
    ) async throws -> [(Int, String?)] {
        try await withThrowingTaskGroup(of: (Int, String?).self) { group in
            for index in 0..<40 {
                let base = bases[index % bases.count]
                group.addTask {
                    let answer = try await request(base)
                    return (answer.status, answer.json["accessToken"] as? String)
                }
            }
            var all: [(Int, String?)] = []
            for try await answer in group { all.append(answer) }
            return all
        }
    }

    static func request(_ setup: Setup, base: String, returnURL: Bool = true, _ extra: [String: Any] = [:]) async throws -> (status: Int, json: [String: Any]) {
        let wat = setup.gateway.gateway.workloadTokens.mint(workload: "race-app", user: setup.user, now: Date())
        var members: [String: Any] = [
            "workloadIdentityToken": wat, "resourceCredentialProviderName": "zoom", "scopes": setup.scopes, "oauth2Flow": "USER_FEDERATION",
            "resourceOauth2ReturnUrl": returnURL ? "https://app.example.com/done" : NSNull(),
        ]
        members.merge(extra) { $1 }
        return try await post(setup, base: base, members)
    }

    /// `POST /identities/oauth2/token` with these members at the gateway `base`.
    static func post(_ setup: Setup, base: String, _ members: [String: Any]) async throws -> (status: Int, json: [String: Any]) {
        let body = String(decoding: try JSONSerialization.data(withJSONObject: members), as: UTF8.self)
        let answer = try await setup.gateway.send(.POST, base + "/identities/oauth2/token", headers: [("Content-Type", "application/json")], body: body)
        return (answer.status, (try? TestGateway.json(answer.body)) ?? [:])
    }

    @Test(
        "R10: a client-credentials burst across two gateway processes mints one token, which both hand out",
        .enabled(if: CLITests.binary != nil, "build the portcullis product first")
    )
    func machineBurstAcrossProcesses() async throws {
        try await Self.withExpiredGrant { setup in
            let backend = StandInVendor(style: .custom)
            try await backend.run { backendURL in
                backend.configure { $0.mintDelay = .milliseconds(400) }
                let created = try await OAuth2VaultTests.call(setup.gateway, "CreateOauth2CredentialProvider", [
                    "name": "backend", "credentialProviderVendor": "CustomOauth2", "tags": ["portcullis:workloads": "*"],
                    "oauth2ProviderConfigInput": ["customOauth2ProviderConfig": [
                        "clientId": backend.clientId, "clientSecret": backend.clientSecret, "clientAuthenticationMethod": "CLIENT_SECRET_POST",
                        "oauthDiscovery": ["authorizationServerMetadata": [
                            "issuer": backendURL, "authorizationEndpoint": backendURL + "/authorize", "tokenEndpoint": backendURL + "/token",
                        ]],
                    ]],
                ])
                #expect(created.status == 201, "\(created.body)")
                let (second, port) = try await Self.secondGateway(setup)
                defer { second.terminate() }
                let bases = [setup.gateway.baseURL, "http://127.0.0.1:\(port)"]
                let answers = try await Self.burst(across: bases) { base in
                    try await Self.post(setup, base: base, [
                        "workloadIdentityToken": setup.gateway.gateway.workloadTokens.mint(workload: "race-app", user: nil, now: Date()),
                        "resourceCredentialProviderName": "backend", "scopes": ["read"], "oauth2Flow": "M2M",
                    ])
                }
                #expect(answers.allSatisfy { $0.0 == 200 }, "\(answers.map(\.0)) \(second.output.suffix(2000))")
                let tokens = Set(answers.compactMap(\.1))
                #expect(tokens.count == 1, "one token for both gateways: \(tokens.count)")
                #expect(backend.tokenRequests("client_credentials") == 1, "minted once between two processes")
                #expect(backend.isLive(try #require(tokens.first)))
            }
        }
    }

    @Test(
        "C1: a gateway killed after the vendor answered, before its commit: the grant ends in re-consent, once, with no refresh loop",
        .enabled(if: CLITests.binary != nil, "build the portcullis product first")
    )
    func crashBeforeCommit() async throws {
        // A ten-second lease gives the vendor five seconds to answer, enough on a loaded machine.
        try await Self.withExpiredGrant(lease: 10) { setup in
            try await Self.allowReturnURL(setup)
            let (crashing, port) = try await Self.secondGateway(setup, crashAt: .afterVendorAnswer)
            defer { crashing.terminate() }
            _ = try? await Self.request(setup, base: "http://127.0.0.1:\(port)")
            #expect(try await crashing.exitStatus(timeout: .seconds(30)) != 0, "the gateway died at the fault point")
            #expect(setup.vendor.tokenRequests("refresh_token") == 1, "its refresh reached the vendor, whose answer was lost")
            let grant = try #require(try await setup.gateway.gateway.store.vaultToken(setup.key()))
            let unfinished = try await setup.gateway.gateway.store.refreshesInFlight(tokenId: grant.id, except: "", since: Date(timeIntervalSince1970: 0))
            #expect(unfinished == 1, "the journal shows the refresh that never finished")
            // The survivor waits out the dead refresh, then learns from the vendor that the grant is gone.
            let started = ContinuousClock.now
            let answer = try await Self.request(setup, base: setup.gateway.baseURL)
            #expect(answer.status == 200)
            #expect(answer.json["authorizationUrl"] as? String != nil, "the user is asked to consent again: \(answer.json)")
            #expect(ContinuousClock.now - started < .seconds(60), "it waited out the dead refresh (twice the lease), no longer")
            #expect(try await setup.gateway.gateway.store.vaultToken(setup.key())?.status == .needsReauthorization, "marked, never deleted")
            let again = try await Self.request(setup, base: setup.gateway.baseURL)
            #expect(again.json["authorizationUrl"] as? String != nil)
            #expect(setup.vendor.tokenRequests("refresh_token") == 2, "one more try, then no loop")
        }
    }

    @Test(
        "C2: a gateway killed after its commit, before answering: the next request gets the committed token without another refresh",
        .enabled(if: CLITests.binary != nil, "build the portcullis product first")
    )
    func crashAfterCommit() async throws {
        try await Self.withExpiredGrant(lease: 10) { setup in
            let (crashing, port) = try await Self.secondGateway(setup, crashAt: .afterCommit)
            defer { crashing.terminate() }
            _ = try? await Self.request(setup, base: "http://127.0.0.1:\(port)")
            #expect(try await crashing.exitStatus(timeout: .seconds(30)) != 0)
            let answer = try await Self.request(setup, base: setup.gateway.baseURL)
            let token = try #require(answer.json["accessToken"] as? String, "\(answer.json)")
            #expect(token != setup.firstAccess && setup.vendor.isLive(token))
            #expect(setup.vendor.tokenRequests("refresh_token") == 1, "no second refresh")
        }
    }

    @Test(
        "C3: a gateway killed between consuming a consent's state and storing the token leaves no credential and a spent state; the user consents again and gets one grant",
        .enabled(if: CLITests.binary != nil, "build the portcullis product first")
    )
    func crashDuringConsent() async throws {
        try await Self.withExpiredGrant(lease: 10) { setup in
            try await Self.allowReturnURL(setup)
            var newcomer = setup
            newcomer.user = .id("user-c3")
            let (crashing, port) = try await Self.secondGateway(setup, crashAt: .afterCodeExchange)
            defer { crashing.terminate() }
            let second = "http://127.0.0.1:\(port)"
            let started = try await Self.request(newcomer, base: second)
            let firstURL = try #require(started.json["authorizationUrl"] as? String, "\(started.json)")
            try await TestBrowser.with { (browser: TestBrowser) async throws in
                let callback = try await Self.consentCallback(browser, authorizationURL: firstURL)
                #expect(callback.hasPrefix(second + "/identities/oauth2/callback/"))
                _ = try? await browser.get(callback)
                #expect(try await crashing.exitStatus(timeout: .seconds(30)) != 0, "the gateway died at the fault point")
                #expect(setup.vendor.tokenRequests("authorization_code") == 1, "the code was exchanged before the crash")
                #expect(try await setup.gateway.gateway.store.vaultToken(newcomer.key()) == nil, "no half-written credential")
                // The interrupted consent is left exchanging, and expires within a minute instead of the session's ten.
                let firstSession = try #require(started.json["sessionUri"] as? String)
                let interrupted = try #require(
                    try await setup.gateway.gateway.store.consentSession(id: String(firstSession.dropFirst(ConsentSession.sessionURIPrefix.count)))
                )
                #expect(interrupted.status == .exchanging && interrupted.expiresAt.timeIntervalSinceNow <= 61, "\(interrupted.status) \(interrupted.expiresAt)")

                // The browser retries the same callback at the surviving gateway: the state is spent, the code not exchanged again.
                let replay = try await browser.get(setup.gateway.baseURL + callback.dropFirst(second.count))
                #expect(replay.status == 400, "\(replay.body)")
                #expect(setup.vendor.tokenRequests("authorization_code") == 1)

                // The agent asks again: a new consent, which completes.
                let again = try await Self.request(newcomer, base: setup.gateway.baseURL)
                let secondURL = try #require(again.json["authorizationUrl"] as? String, "\(again.json)")
                let sessionUri = try #require(again.json["sessionUri"] as? String)
                #expect(secondURL != firstURL)
                let back = try await browser.get(try await Self.consentCallback(browser, authorizationURL: secondURL))
                #expect(back.status == 303 && back.location?.hasPrefix("https://app.example.com/done?session_id=") == true, "\(back.body)")
                let confirmed = try await OAuth2VaultTests.call(
                    setup.gateway, "CompleteResourceTokenAuth", ["sessionUri": sessionUri, "userIdentifier": ["userId": "user-c3"]]
                )
                #expect(confirmed.status == 200, "\(confirmed.body)")
                let token = try #require(try await Self.request(newcomer, base: setup.gateway.baseURL, ["sessionUri": sessionUri]).json["accessToken"] as? String)
                #expect(setup.vendor.isLive(token))
                #expect(setup.vendor.tokenRequests("authorization_code") == 2)
                #expect(try await setup.gateway.gateway.store.vaultToken(newcomer.key())?.status == .active, "one grant, stored whole")
                let completed = try #require(try await setup.gateway.gateway.store.consentSession(id: String(sessionUri.dropFirst(ConsentSession.sessionURIPrefix.count))))
                #expect(completed.status == .completed && abs(completed.expiresAt.timeIntervalSince(completed.createdAt) - ConsentFlow.lifetimeSeconds) < 0.01, "an exchange that finished gives the session back its life")
            }
        }
    }

    /// Lets race-app's consents return to the test application.
    static func allowReturnURL(_ setup: Setup) async throws {
        let updated = try await OAuth2VaultTests.call(
            setup.gateway, "UpdateWorkloadIdentity", ["name": "race-app", "allowedResourceOauth2ReturnUrls": ["https://app.example.com/done"]]
        )
        #expect(updated.status == 200, "\(updated.body)")
    }

    /// The process a ``lockingStore(at:_:)`` fault started, once it has.
    final class StoreLock: Sendable {
        let process = Mutex<RunningProcess?>(nil)
        var isHeld: Bool { process.withLock { $0 != nil } }
        func release() { process.withLock { $0?.terminate() } }
    }

    /// A fault that locks the store (``lockStore``) the first time `point` is reached, and that lock.
    static func lockingStore(at point: VaultFaultPoints.Point, _ setup: Setup) -> (VaultFaultPoints, StoreLock) {
        let lock = StoreLock()
        let faults = pause(at: point, for: .zero) {
            let process = try? await lockStore(setup)
            lock.process.withLock { $0 = process }
        }
        return (faults, lock)
    }

    /// Plays a user who needs no sign-in (named by id): follows the authorization URL to the vendor, approves; returns
    /// the gateway callback the vendor redirects to.
    static func consentCallback(_ browser: TestBrowser, authorizationURL: String) async throws -> String {
        let toVendor = try await browser.get(authorizationURL)
        #expect(toVendor.status == 303, "\(toVendor.body)")
        let approved = try await browser.get(try #require(toVendor.location))
        #expect(approved.status == 302)
        return try #require(approved.location)
    }

    /// Another process holding the store's write lock (`BEGIN EXCLUSIVE` from Python's sqlite3): to the gateway the
    /// database is unavailable for writes (after its busy timeout) until the process ends.
    static func lockStore(_ setup: Setup) async throws -> RunningProcess {
        let python = try #require(ExternalProcess.python ?? (FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : nil))
        let file = setup.gateway.gateway.configuration.store.dataDirectory + "/portcullis.sqlite"
        let script = "import sqlite3, sys, time\nc = sqlite3.connect(sys.argv[1], isolation_level=None)\nc.execute('BEGIN EXCLUSIVE')\nprint('locked', flush=True)\ntime.sleep(120)\n"
        let locker = try RunningProcess(python, ["-c", script, file])
        _ = try await locker.waitFor("(locked)")
        return locker
    }

    @Test("C8: a store locked by another process once the refresh holds its lease: no journal entry, so no vendor call; once the lock is gone the next request refreshes once")
    func storeUnavailableBeforeTheCall() async throws {
        try await Self.withExpiredGrant { setup in
            let (faults, locker) = Self.lockingStore(at: .afterLease, setup)
            defer { locker.release() }
            let vault = setup.vault(faults)
            await #expect(throws: AgentCoreError(.internalServer, "The token vault's store is unavailable")) { _ = try await setup.token(vault) }
            #expect(locker.isHeld, "the store was locked between the lease and the journal entry")
            #expect(setup.vendor.tokenRequests("refresh_token") == 0, "no vendor call without a journal entry")
            locker.release()
            let grant = try #require(try await setup.gateway.gateway.store.vaultToken(setup.key()))
            #expect(try await setup.gateway.gateway.store.refreshesInFlight(tokenId: grant.id, except: "", since: Date(timeIntervalSince1970: 0)) == 0)
            let token = try #require(Self.accessToken(try await setup.token(vault)))
            #expect(token != setup.firstAccess && setup.vendor.isLive(token))
            #expect(setup.vendor.tokenRequests("refresh_token") == 1)
        }
    }

    @Test("C8: a store that goes away while the vendor answers: the commit fails, the caller gets an error, the journal shows the refresh; the grant ends in one re-consent")
    func storeUnavailableAtTheCommit() async throws {
        try await Self.withExpiredGrant { setup in
            let before = try #require(try await setup.gateway.gateway.store.vaultToken(setup.key()))
            let (faults, locker) = Self.lockingStore(at: .afterVendorAnswer, setup)
            defer { locker.release() }
            await #expect(throws: AgentCoreError(.internalServer, "The token vault's store is unavailable")) { _ = try await setup.token(setup.vault(faults)) }
            #expect(locker.isHeld, "the store was locked at the fault point")
            locker.release()
            #expect(setup.vendor.tokenRequests("refresh_token") == 1)
            let grant = try #require(try await setup.gateway.gateway.store.vaultToken(setup.key()))
            #expect(grant.refreshHash == before.refreshHash && grant.sealedAccessToken == before.sealedAccessToken, "nothing was committed")
            #expect(try await setup.gateway.gateway.store.refreshesInFlight(tokenId: grant.id, except: "", since: Date(timeIntervalSince1970: 0)) == 1)
            // Another refresher waits out the unfinished refresh, then learns from the vendor that the grant is gone.
            #expect(try await setup.token(setup.vault()) == .needsConsent)
            #expect(try await setup.gateway.gateway.store.vaultToken(setup.key())?.status == .needsReauthorization)
            #expect(try await setup.token(setup.vault()) == .needsConsent)
            #expect(setup.vendor.tokenRequests("refresh_token") == 2, "one more try, then no loop")
        }
    }

    @Test(
        "C7: a vendor down for days: refreshes back off (bounded calls; the clock set back and forward ten minutes, and back five hours across midnight), an unexpired token is still served, a recovery clears the run, and only failures spanning three distinct days need re-consent"
    )
    func vendorDownForDays() async throws {
        try await Self.withExpiredGrant { setup in
            // 23:00 UTC: the first failures fall just before midnight, the next day starts within the hour.
            let midnight = (Date().timeIntervalSince1970 / 86_400).rounded(.down) * 86_400
            let clock = ManualClock(Date(timeIntervalSince1970: midnight + 23 * 3600))
            let vault = setup.vault(clock: clock)
            let store = setup.gateway.gateway.store
            let (access, refresh) = setup.vendor.grant()
            try await vault.storeConsented(
                VendorTokenResponse(accessToken: access, refreshToken: refresh, expiresIn: 1200, scope: nil), client: setup.client, workload: "race-app",
                user: setup.user, scopes: setup.scopes
            )
            setup.vendor.configure { $0.failNextTokenCalls = 1_000_000 }

            // Within the refresh margin, not expired: served as it is while the vendor fails; attempts back off
            // 5 s, then 10 s, then 20 s (±20 %): three in twenty seconds.
            clock.advance(by: 16 * 60)
            for _ in 0..<20 {
                #expect(Self.accessToken(try await setup.token(vault)) == access)
                clock.advance(by: 1)
            }
            #expect(setup.vendor.tokenRequests("refresh_token") == 3)

            // Expired, the vendor down for six hours, the clock set back and then forward ten minutes on the way.
            clock.advance(by: 5 * 60)
            for minute in 0..<360 {
                if minute == 100 { clock.advance(by: -600) }
                if minute == 200 { clock.advance(by: 600) }
                // Set back five hours, across midnight to the day before (just after the token's expiry): the backoff
                // does not stretch, and the days are not counted again when the clock passes midnight once more.
                if minute == 300 { clock.advance(by: -5 * 3600) }
                let attempts = setup.vendor.tokenRequests("refresh_token")
                let error = await #expect(throws: AgentCoreError.self) { _ = try await setup.token(vault) }
                #expect(error?.code == .internalServer && error?.message.contains("did not answer the token refresh") == true)
                if minute == 300 { #expect(setup.vendor.tokenRequests("refresh_token") == attempts + 1, "a clock set back hours does not hold the refresh off") }
                clock.advance(by: 60)
            }
            let calls = setup.vendor.tokenRequests("refresh_token")
            #expect((30...60).contains(calls), "at most one attempt per ten minutes once backed off: \(calls) in six hours")
            let failing = try #require(try await store.vaultToken(setup.key()))
            #expect(failing.status == .active && failing.refreshFailures.days == 2 && failing.refreshFailures.count == calls, "\(failing.refreshFailures)")

            // The vendor is back: the first attempt after the backoff refreshes and the run is cleared.
            setup.vendor.configure { $0.failNextTokenCalls = 0 }
            clock.advance(by: 13 * 60)
            let renewed = try #require(Self.accessToken(try await setup.token(vault)))
            #expect(renewed != access && setup.vendor.isLive(renewed))
            let cleared = try #require(try await store.vaultToken(setup.key()))
            #expect(cleared.refreshFailures == VaultToken.Since() && cleared.retryAt == nil)

            // Down again for days: one attempt every half hour; the grant needs re-consent only once the failures
            // have gone on for two days (three distinct days), and then nothing more reaches the vendor.
            setup.vendor.configure { $0.failNextTokenCalls = 1_000_000 }
            clock.advance(by: 3600)
            let firstFailure = clock.now()
            var outcome: OAuth2Tokens.Outcome?
            while outcome != .needsConsent, clock.now().timeIntervalSince(firstFailure) < 4 * 86_400 {
                outcome = try? await setup.token(vault)
                if outcome != .needsConsent { clock.advance(by: 1800) }
            }
            let lasted = clock.now().timeIntervalSince(firstFailure)
            #expect(outcome == .needsConsent && (47 * 3600...47.5 * 3600).contains(lasted), "gave up after \(lasted / 3600) h")
            let exhausted = try #require(try await store.vaultToken(setup.key()))
            #expect(exhausted.status == .needsReauthorization && exhausted.lastError == "refresh_exhausted" && exhausted.refreshFailures.days == 3)
            let before = setup.vendor.tokenRequests("refresh_token")
            clock.advance(by: 3600)
            #expect(try await setup.token(vault) == .needsConsent)
            #expect(setup.vendor.tokenRequests("refresh_token") == before, "no attempts after giving up")
        }
    }

    @Test("C6: a gateway with the wrong key-encryption key refuses to serve vaulted tokens and writes nothing")
    func wrongKey() async throws {
        try await Self.withExpiredGrant { setup in
            let before = try #require(try await setup.gateway.gateway.store.vaultToken(setup.key()))
            let wrongRing = VaultTestKeys.ring()
            let vault = OAuth2Tokens(store: setup.gateway.gateway.store, keyRing: wrongRing, clock: SystemWallClock(), logger: testLogger, leaseSeconds: 1)
            await #expect(throws: AgentCoreError.self) { _ = try await setup.token(vault) }
            let sealed = OAuth2Tokens(store: setup.gateway.gateway.store, keyRing: KeyRing(keys: [:]), clock: SystemWallClock(), logger: testLogger, leaseSeconds: 1)
            await #expect(throws: AgentCoreError.self) { _ = try await setup.token(sealed) }
            let after = try #require(try await setup.gateway.gateway.store.vaultToken(setup.key()))
            #expect(after.sealedAccessToken == before.sealedAccessToken && after.refreshHash == before.refreshHash && after.generation == before.generation)
            #expect(setup.vendor.tokenRequests("refresh_token") == 0, "nothing reached the vendor")
        }
    }
}

enum VaultTestKeys {
    static func ring() -> KeyRing {
        KeyRing(keys: [1: SymmetricKey(size: .bits256)])
    }
}
