import Foundation
@testable import PortcullisCore
@testable import PortcullisIdentity
import Synchronization
import Testing

/// The key-set cache against a real JWKS server on loopback: rotation, the refetch rate limit under a flood of
/// unknown kids, and known keys surviving an outage.
@Suite("JWKS cache")
struct JWKSCacheTests {
    /// An authenticator for one issuer at `provider`, with the test's clock.
    static func authenticator(
        _ provider: TestIdentityProvider,
        clock: ManualClock,
        tokenCacheEntries: Int = 0,
        keySet: KeySetConfiguration = KeySetConfiguration()
    ) -> JWTAuthenticator {
        let configuration = AuthConfiguration(
            issuers: [IssuerConfiguration(name: "test", discoveryURL: provider.discoveryURL, keySet: keySet)],
            tokenCacheEntries: tokenCacheEntries
        )
        let registry = IssuerRegistry(configuration: configuration, http: .shared, clock: clock, logger: testLogger)
        return JWTAuthenticator(registry: registry, clock: clock, logger: testLogger)
    }

    static func accepts(_ authenticator: JWTAuthenticator, _ token: String) async -> Bool {
        (try? await authenticator.authenticate(.bearerToken(token))) != nil
    }

    @Test("a key that appears after rotation is accepted after one refetch, at most one per cooldown")
    func rotation() async throws {
        try await TestIdentityProvider.run { provider in
            let clock = ManualClock()
            let authenticator = Self.authenticator(provider, clock: clock)
            await authenticator.registry.hydrate()
            #expect(provider.keySetFetches == 1)
            let verdict1 = try await Self.accepts(authenticator, provider.token())
            #expect(verdict1)
            #expect(provider.keySetFetches == 1, "a known key needs no fetch")

            let next = try SigningKey.generateRSA(keyId: "key-2")
            let rotated = try provider.token(key: next)
            #expect(await !Self.accepts(authenticator, rotated), "not published yet")
            #expect(provider.keySetFetches == 2, "an unknown kid triggers one refetch")
            provider.addKey(next)
            #expect(await !Self.accepts(authenticator, rotated), "inside the 10 s cooldown")
            #expect(provider.keySetFetches == 2, "no second refetch inside the cooldown")
            clock.advance(by: 11)
            let verdict2 = try await Self.accepts(authenticator, provider.token(key: next))
            #expect(verdict2)
            #expect(provider.keySetFetches == 3)
            let verdict3 = try await Self.accepts(authenticator, provider.token())
            #expect(verdict3, "the old key still verifies")
        }
    }

    @Test("a flood of unknown kids costs one fetch per cooldown, shared by concurrent misses")
    func unknownKidFlood() async throws {
        try await TestIdentityProvider.run { provider in
            let clock = ManualClock()
            let authenticator = Self.authenticator(provider, clock: clock)
            await authenticator.registry.hydrate()
            let before = provider.keySetFetches
            let attacker = try SigningKey.generateRSA(keyId: "seed")
            for round in 0..<3 {
                let accepted = await withTaskGroup(of: Bool.self) { group in
                    for index in 0..<200 {
                        let token = try! SigningKey(keyId: "flood-\(round)-\(index)", algorithm: .rs256, material: attacker.material)
                            .sign(claims: ["iss": .string(provider.issuer), "sub": .string("x"), "exp": .number(Date().timeIntervalSince1970 + 60)])
                        group.addTask { await Self.accepts(authenticator, token) }
                    }
                    return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
                }
                #expect(accepted == 0)
                #expect(provider.keySetFetches == before + round + 1, "round \(round): 200 unknown kids, one fetch")
                clock.advance(by: 10)
            }
            print("JWKS flood: 600 tokens with unknown kids over 3 cooldowns caused \(provider.keySetFetches - before) key-set fetches")
        }
    }

    @Test("while the provider is down, known keys keep verifying and refreshes back off")
    func providerDown() async throws {
        try await TestIdentityProvider.run { provider in
            let clock = ManualClock()
            let authenticator = Self.authenticator(provider, clock: clock)
            let registry = authenticator.registry
            await registry.hydrate()
            let issuer = try #require(registry.issuer(named: "test"))
            provider.setDown(true)
            clock.advance(by: 4000)
            #expect(issuer.isRefreshDue(at: clock.now()))
            _ = await registry.refreshDue()
            #expect(issuer.status.lastFailure?.contains("503") == true)
            #expect(issuer.status.keyIds == ["key-1"], "a failed refresh keeps the known keys")
            let verdict4 = try await Self.accepts(authenticator, provider.token(["sub": .string("during-outage")], now: clock.now()))
            #expect(verdict4)
            // Retries come sooner than the regular interval, and stop once the provider answers.
            let retryAt = try #require(issuer.nextRefresh)
            #expect(retryAt.timeIntervalSince(clock.now()) <= 300)
            provider.setDown(false)
            clock.advance(by: 301)
            _ = await registry.refreshDue()
            #expect(issuer.status.lastFailure == nil)
            #expect(try #require(issuer.nextRefresh).timeIntervalSince(clock.now()) > 3000)
        }
    }

    @Test("Cache-Control max-age sets the refresh interval within the configured bounds")
    func cacheControl() async throws {
        try await TestIdentityProvider.run { provider in
            for (header, expected) in [("max-age=600", 600.0), ("public, max-age=5", 300), ("no-store", 300), ("max-age=999999", 86400)] as [(String, Double)] {
                provider.state.withLock { $0.cacheControl = header }
                let clock = ManualClock()
                let authenticator = Self.authenticator(provider, clock: clock)
                await authenticator.registry.hydrate()
                let next = try #require(authenticator.registry.issuer(named: "test")?.nextRefresh)
                #expect(next.timeIntervalSince(clock.now()) == expected, "\(header)")
            }
            provider.state.withLock { $0.cacheControl = nil }
            let clock = ManualClock()
            let authenticator = Self.authenticator(provider, clock: clock)
            await authenticator.registry.hydrate()
            #expect(try #require(authenticator.registry.issuer(named: "test")?.nextRefresh).timeIntervalSince(clock.now()) == 3600)
        }
    }

    @Test("unusable key-set entries are skipped one by one; the usable ones load")
    func badKeysSkipped() async throws {
        try await TestIdentityProvider.run { provider in
            provider.state.withLock {
                $0.extraJWKs = [
                    .object(["kty": .string("oct"), "kid": .string("secret"), "k": .string("AAAA")]),
                    .object(["kty": .string("RSA"), "kid": .string("enc"), "use": .string("enc"), "n": .string("AQAB"), "e": .string("AQAB")]),
                    .object(["kty": .string("EC"), "kid": .string("bad-point"), "crv": .string("P-256"), "x": .string(Base64URL.encode([UInt8](repeating: 1, count: 32))), "y": .string(Base64URL.encode([UInt8](repeating: 2, count: 32)))]),
                    .object(["kty": .string("OKP"), "kid": .string("x448"), "crv": .string("X448"), "x": .string("AAAA")]),
                    .string("not a key"),
                ]
            }
            let authenticator = Self.authenticator(provider, clock: ManualClock())
            await authenticator.registry.hydrate()
            #expect(authenticator.registry.issuer(named: "test")?.status.keyIds == ["key-1"])
            let verdict5 = try await Self.accepts(authenticator, provider.token())
            #expect(verdict5)
        }
    }

    @Test("a key set over the size limit is refused and the keys already known stay")
    func oversizedKeySet() async throws {
        try await TestIdentityProvider.run { provider in
            let clock = ManualClock()
            let authenticator = Self.authenticator(provider, clock: clock, keySet: KeySetConfiguration(maxBytes: 4096))
            await authenticator.registry.hydrate()
            let issuer = try #require(authenticator.registry.issuer(named: "test"))
            #expect(issuer.status.keyIds == ["key-1"])
            provider.state.withLock { $0.extraJWKs = (0..<40).map { .object(["kty": .string("oct"), "kid": .string("filler-\($0)"), "k": .string(String(repeating: "A", count: 200))]) } }
            await issuer.refresh()
            #expect(issuer.status.lastFailure?.contains("4096") == true, "\(issuer.status.lastFailure ?? "")")
            #expect(issuer.status.keyIds == ["key-1"])
            let verdict = try await Self.accepts(authenticator, provider.token(now: clock.now()))
            #expect(verdict)
        }
    }

    @Test("the verified-token cache skips re-verification but never outlives the token or its key")
    func verifiedTokenCache() async throws {
        try await TestIdentityProvider.run { provider in
            let clock = ManualClock()
            let authenticator = Self.authenticator(provider, clock: clock, tokenCacheEntries: 100)
            await authenticator.registry.hydrate()
            let token = try provider.token(lifetime: 120, now: clock.now())
            #expect(await Self.accepts(authenticator, token))
            #expect(await Self.accepts(authenticator, token))
            // The provider drops the key: the next refresh removes it, and the cached verification with it.
            let issuer = try #require(authenticator.registry.issuer(named: "test"))
            provider.state.withLock { $0.signingKeys = [try! SigningKey.generateRSA(keyId: "key-9")] }
            await issuer.refresh()
            #expect(await !Self.accepts(authenticator, token), "the signing key is gone")

            let second = try provider.token(key: provider.signingKey, lifetime: 30, now: clock.now())
            #expect(await Self.accepts(authenticator, second))
            clock.advance(by: 30 + 61)
            #expect(await !Self.accepts(authenticator, second), "expired beyond the leeway")
        }
    }
}
