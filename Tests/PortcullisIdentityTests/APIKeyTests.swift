import Foundation
import HTTPTypes
import Logging
@testable import PortcullisCore
@testable import PortcullisIdentity
import PortcullisStore
import Synchronization
import Testing

final class TestClock: WallClock {
    private let current = Mutex(Date())
    func now() -> Date { current.withLock { $0 } }
    func advance(_ seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

/// Counts lookups so tests can see the cache at work.
final class CountingKeyStore: APIKeyStore {
    let base: SQLiteStore
    let lookups = Mutex(0)

    init(base: SQLiteStore) { self.base = base }

    func insertAPIKey(_ record: APIKeyRecord) async throws { try await base.insertAPIKey(record) }
    func apiKey(id: String) async throws -> APIKeyRecord? {
        lookups.withLock { $0 += 1 }
        return try await base.apiKey(id: id)
    }
    func apiKeys() async throws -> [APIKeyRecord] { try await base.apiKeys() }
    func revokeAPIKey(id: String, at date: Date) async throws -> Bool { try await base.revokeAPIKey(id: id, at: date) }
    func recordAPIKeyUse(ids: [String], at date: Date) async throws { try await base.recordAPIKeyUse(ids: ids, at: date) }
}

@Suite("API keys")
struct APIKeyTests {
    static func withStore<T>(_ body: (SQLiteStore) async throws -> T) async throws -> T {
        let directory = NSTemporaryDirectory() + "portcullis-keys-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        return try await body(try SQLiteStore(path: directory + "/k.sqlite", logger: Logger(label: "test")))
    }

    @Test("format: a public id, a 238-bit secret, checked by shape only")
    func format() {
        let (id, key) = APIKeyFormat.generate()
        #expect(key.count == APIKeyFormat.totalLength)
        #expect(key.hasPrefix("pcs_\(id)_"))
        #expect(APIKeyFormat.keyId(of: key) == id)
        #expect(APIKeyFormat.keyId(of: key + "x") == nil)
        #expect(APIKeyFormat.keyId(of: key.replacingOccurrences(of: "pcs_", with: "pcx_")) == nil)
        #expect(APIKeyFormat.keyId(of: "pcs_ABCDEFGHIJKL_" + String(repeating: "a", count: 40)) == nil, "ids are lowercase base32")
        #expect(APIKeyFormat.generate().key != key)
        #expect(APIKeyFormat.hash(key).count == 32)
    }

    @Test("credential extraction accepts exactly one credential")
    func extraction() throws {
        let (_, key) = APIKeyFormat.generate()
        #expect(try InboundCredential.extract(from: [.authorization: "Bearer \(key)"]) == .apiKey(key))
        #expect(try InboundCredential.extract(from: [.authorization: "BEARER   \(key) "]) == .apiKey(key))
        #expect(try InboundCredential.extract(from: [.xAPIKey: key]) == .apiKey(key))
        #expect(try InboundCredential.extract(from: [.authorization: "Bearer a.b.c"]) == .bearerToken("a.b.c"))
        #expect { try InboundCredential.extract(from: [.authorization: "AWS4-HMAC-SHA256 Credential=x"]) } throws: {
            ($0 as? AuthenticationError)?.failure == .malformedSignature
        }
        let refused: [HTTPFields] = [[:], [.authorization: "Basic x"], [.authorization: "Bearer"], [.authorization: "Bearer \(key)", .xAPIKey: key], [.xAPIKey: " "]]
        for headers in refused {
            #expect(throws: AuthenticationError.self) { try InboundCredential.extract(from: headers) }
        }
    }

    @Test("authentication: valid, wrong secret, unknown, revoked, expired; cached lookups")
    func authentication() async throws {
        try await Self.withStore { base in
            let store = CountingKeyStore(base: base)
            let clock = TestClock()
            let authenticator = APIKeyAuthenticator(store: store, clock: clock, cacheLifetime: 10, logger: Logger(label: "test"))
            let service = APIKeyService(store: store, clock: clock, authenticator: authenticator)
            let issued = try await service.issue(name: "svc", agents: ["alpha"], administrator: true, expiresAt: clock.now().addingTimeInterval(100))
            let principal = try await authenticator.authenticate(.apiKey(issued.key))
            #expect(principal.id == "apikey:\(issued.record.id)")
            #expect(principal.method == .apiKey)
            #expect(principal.isAdministrator)
            #expect(principal.agentScope == .named(["alpha"]))
            _ = try await authenticator.authenticate(.apiKey(issued.key))
            #expect(store.lookups.withLock { $0 } == 1, "the second call is served from the cache")

            let wrong = String(issued.key.dropLast()) + (issued.key.last == "A" ? "B" : "A")
            await #expect(throws: AuthenticationError.self) { try await authenticator.authenticate(.apiKey(wrong)) }
            await #expect(throws: AuthenticationError.self) {
                try await authenticator.authenticate(.apiKey("pcs_aaaaaaaaaaaa_" + String(repeating: "a", count: 40)))
            }
            await #expect(throws: AuthenticationError.self) { try await authenticator.authenticate(.bearerToken("x")) }
            clock.advance(101)
            do {
                _ = try await authenticator.authenticate(.apiKey(issued.key))
                Issue.record("an expired key was accepted")
            } catch {
                #expect((error as? AuthenticationError)?.failure == .expired)
            }

            let second = try await service.issue(name: "other", agents: ["*"], administrator: false, expiresAt: nil)
            #expect(try await authenticator.authenticate(.apiKey(second.key)).agentScope == .all)
            #expect(try await service.revoke(id: second.record.id))
            do {
                _ = try await authenticator.authenticate(.apiKey(second.key))
                Issue.record("a revoked key was accepted")
            } catch {
                #expect((error as? AuthenticationError)?.failure == .revoked)
            }
            await authenticator.flushUsage()
            #expect(try await base.apiKey(id: second.record.id)?.lastUsedAt != nil)
        }
    }

    @Test("issuing validates its inputs")
    func issuing() async throws {
        try await Self.withStore { store in
            let service = APIKeyService(store: store)
            await #expect(throws: AgentCoreError.self) { try await service.issue(name: "", agents: ["*"], administrator: false, expiresAt: nil) }
            await #expect(throws: AgentCoreError.self) { try await service.issue(name: "x", agents: ["bad-name"], administrator: false, expiresAt: nil) }
            await #expect(throws: AgentCoreError.self) { try await service.issue(name: "x", agents: [], administrator: false, expiresAt: nil) }
            await #expect(throws: AgentCoreError.self) { try await service.issue(name: "x", agents: ["*"], administrator: false, expiresAt: Date().addingTimeInterval(-1)) }
            let stored = try await service.issue(name: "ok", agents: ["a"], administrator: false, expiresAt: nil)
            let listed = try await service.list()
            #expect(listed.map(\.id) == [stored.record.id])
            #expect(listed.first?.secretHash == APIKeyFormat.hash(stored.key))
            #expect(try await service.revoke(id: "not-an-id") == false)
        }
    }
}
