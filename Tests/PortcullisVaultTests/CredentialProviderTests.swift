import Crypto
import Foundation
import Logging
import PortcullisCore
import PortcullisStore
@testable import PortcullisVault
import Testing

@Suite("Credential providers and key rotation")
struct CredentialProviderTests {
    static let sentinel = "sk-sentinel-0f3a9c2e7b51d4"

    @Test("an API key is sealed in the database file, opens only for its own row, and fails closed when moved or altered")
    func sealedAtRest() async throws {
        try await VaultTestSupport.withStore { store, path in
            let ring = VaultTestSupport.keyRing([1])
            let providers = CredentialProviders(store: store, keyRing: ring, clock: ManualClock(), logger: Logger(label: "test"))
            let first = try await providers.create(name: "openai", kind: .apiKey, secret: Self.sentinel, tags: [:])
            let second = try await providers.create(name: "other", kind: .apiKey, secret: "another-key", tags: [:])
            #expect(try providers.secret(of: try await providers.provider(kind: .apiKey, name: "openai")) == Self.sentinel)
            await #expect(throws: AgentCoreError(.conflict, "A credential provider named openai already exists")) {
                _ = try await providers.create(name: "openai", kind: .apiKey, secret: "x", tags: [:])
            }
            // B14: the first row's envelope on the second row does not open; nor does a flipped bit.
            var moved = second
            moved.sealedSecret = first.sealedSecret
            #expect(throws: AgentCoreError.self) { try providers.secret(of: moved) }
            var flipped = first
            flipped.sealedSecret = String(first.sealedSecret.dropLast()) + (first.sealedSecret.hasSuffix("A") ? "B" : "A")
            #expect(throws: AgentCoreError.self) { try providers.secret(of: flipped) }
            // Without the key, nothing opens and nothing can be stored.
            let sealed = CredentialProviders(store: store, keyRing: KeyRing(keys: [:]), clock: ManualClock(), logger: Logger(label: "test"))
            #expect(throws: AgentCoreError(.internalServer, "The token vault is sealed: no key-encryption key is loaded")) { try sealed.secret(of: first) }
            await #expect(throws: AgentCoreError.self) { _ = try await sealed.create(name: "third", kind: .apiKey, secret: "x", tags: [:]) }
            #expect(try await store.credentialProvider(kind: .apiKey, name: "third") == nil)
            // No plaintext secret in the database file or its write-ahead log.
            for file in [path, path + "-wal"] {
                let bytes = FileManager.default.contents(atPath: file) ?? Data()
                #expect(bytes.range(of: Data(Self.sentinel.utf8)) == nil, "the API key is in \(file) in plain text")
            }
        }
    }

    @Test("a rotation interrupted halfway leaves every secret readable, and running it again finishes the job")
    func interruptedRewrap() async throws {
        try await VaultTestSupport.withStore { store, _ in
            let (first, second) = (SymmetricKey(size: .bits256), SymmetricKey(size: .bits256))
            let oldRing = KeyRing(keys: [1: first])
            let providers = CredentialProviders(store: store, keyRing: oldRing, clock: ManualClock(), logger: Logger(label: "test"))
            for index in 0..<6 {
                _ = try await providers.create(name: "key-\(index)", kind: .apiKey, secret: "secret-\(index)", tags: [:])
            }
            // The same key 1 plus a new key 2.
            let newRing = KeyRing(keys: [1: first, 2: second])
            let rewrap = SecretRewrap(keyRing: newRing, accessKeys: store, providers: store, vault: store)
            let half = try await rewrap.run(limit: 3)
            #expect(half.rewrapped == 3)
            #expect(half.remaining == 3)
            let reader = CredentialProviders(store: store, keyRing: newRing, clock: ManualClock(), logger: Logger(label: "test"))
            var versions: [UInt32] = []
            for index in 0..<6 {
                let record = try await reader.provider(kind: .apiKey, name: "key-\(index)")
                #expect(try reader.secret(of: record) == "secret-\(index)")
                versions.append(try KeyRing.version(of: record.sealedSecret))
            }
            #expect(versions.sorted() == [1, 1, 1, 2, 2, 2])
            let rest = try await rewrap.run()
            #expect(rest.rewrapped == 3)
            #expect(rest.current == 3)
            let again = try await rewrap.run()
            #expect(again.rewrapped == 0)
            #expect(again.current == 6)
            // Key 1 can now go: everything opens with key 2 alone.
            let onlyNew = CredentialProviders(store: store, keyRing: KeyRing(keys: [2: second]), clock: ManualClock(), logger: Logger(label: "test"))
            for index in 0..<6 {
                #expect(try onlyNew.secret(of: try await onlyNew.provider(kind: .apiKey, name: "key-\(index)")) == "secret-\(index)")
            }
        }
    }
}
