import Crypto
import Foundation
import PortcullisCore
@testable import PortcullisVault
import Testing

@Suite("Workload access tokens")
struct WorkloadAccessTokenTests {
    @Test("a token opens to the workload and user it was minted for, until it expires")
    func roundTrip() throws {
        let ring = VaultTestSupport.keyRing([1])
        let tokens = WorkloadAccessTokens(keyRing: ring, lifetime: 900)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let user = WorkloadUser.token(issuer: "https://idp.example/", subject: "alice")
        let token = tokens.mint(workload: "support-bot-AbCdEf1234", user: user, now: now)
        #expect(token.hasPrefix("pwat1."))
        let claims = try tokens.open(token, now: now.addingTimeInterval(899))
        #expect(claims.workload == "support-bot-AbCdEf1234")
        #expect(claims.user == user)
        #expect(claims.expiresAt == now.addingTimeInterval(900))
        #expect(throws: AgentCoreError(.unauthorized, "The workload access token has expired; the agent gets a new one with each invocation")) {
            try tokens.open(token, now: now.addingTimeInterval(900))
        }
        let anonymous = try tokens.open(tokens.mint(workload: "w-1", user: nil, now: now), now: now)
        #expect(anonymous.user == nil)
        // Two tokens for the same pair differ (fresh nonce and id), so neither names the other.
        #expect(tokens.mint(workload: "w-1", user: nil, now: now) != tokens.mint(workload: "w-1", user: nil, now: now))
    }

    @Test("a token that was altered, sealed by another ring, or is not one at all does not open")
    func forgeries() throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let tokens = WorkloadAccessTokens(keyRing: VaultTestSupport.keyRing([1]), lifetime: 900)
        let token = tokens.mint(workload: "workload-a", user: .id("u1"), now: now)
        let invalid = AgentCoreError(.unauthorized, "The workload access token is not valid")
        var bytes = Base64URL.decode(token.dropFirst(6))!
        for index in [0, 5, bytes.count / 2, bytes.count - 1] {
            var flipped = bytes
            flipped[index] ^= 0x01
            #expect(throws: invalid) { try tokens.open("pwat1." + Base64URL.encode(flipped), now: now) }
        }
        bytes.removeLast()
        #expect(throws: invalid) { try tokens.open("pwat1." + Base64URL.encode(bytes), now: now) }
        let other = WorkloadAccessTokens(keyRing: VaultTestSupport.keyRing([1]), lifetime: 900)
        #expect(throws: invalid) { try other.open(token, now: now) }
        for garbage in ["", "pwat1.", "pwat1.AAAA", "eyJhbGciOiJub25lIn0.e30.", String(repeating: "A", count: 9000)] {
            #expect(throws: invalid) { try tokens.open(garbage, now: now) }
        }
    }

    @Test("tokens survive a key rotation; a gateway without a key ring keeps its tokens to itself")
    func rotationAndEphemeralKeys() throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let first = SymmetricKey(size: .bits256)
        let before = WorkloadAccessTokens(keyRing: KeyRing(keys: [1: first]), lifetime: 900)
        let token = before.mint(workload: "w-1", user: .id("bob"), now: now)
        let after = WorkloadAccessTokens(keyRing: KeyRing(keys: [1: first, 2: SymmetricKey(size: .bits256)]), lifetime: 900)
        #expect(try after.open(token, now: now).user == .id("bob"))
        let rotated = after.mint(workload: "w-1", user: nil, now: now)
        #expect(throws: AgentCoreError.self) { try before.open(rotated, now: now) }
        #expect(after.isDurable)

        let sealed = WorkloadAccessTokens(keyRing: KeyRing(keys: [:]), lifetime: 900)
        #expect(!sealed.isDurable)
        #expect(try sealed.open(sealed.mint(workload: "w-1", user: nil, now: now), now: now).workload == "w-1")
        #expect(throws: AgentCoreError.self) { try WorkloadAccessTokens(keyRing: KeyRing(keys: [:]), lifetime: 900).open(token, now: now) }
    }

    @Test("a user id never stands in for a token user of the same text")
    func userKinds() {
        let fromToken = WorkloadUser.token(issuer: "https://idp.example/", subject: "alice")
        let named = WorkloadUser.id("https://idp.example/|alice")
        #expect(fromToken != named)
        #expect(fromToken.key != named.key)
        #expect(WorkloadUser(key: fromToken.key) == fromToken)
        #expect(WorkloadUser(key: named.key) == named)
        #expect(WorkloadUser(key: "alice") == nil)
        #expect(WorkloadUser(key: "jwt:no-bar") == nil)
    }
}
