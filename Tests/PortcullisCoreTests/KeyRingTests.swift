import Crypto
import Foundation
@testable import PortcullisCore
import Testing

@Suite("Key ring and sealed secrets")
struct KeyRingTests {
    static func temporaryDirectory() -> String {
        NSTemporaryDirectory() + "portcullis-keyring-" + UUID().uuidString
    }

    @Test("seal and open, bound to the record; tampering and other records are refused")
    func sealAndOpen() throws {
        let ring = KeyRing(keys: [1: SymmetricKey(size: .bits256)])
        let envelope = try ring.seal(Array("s3cret value".utf8), context: "access_key/A")
        #expect(envelope.hasPrefix("pcs1."))
        #expect(!envelope.contains("s3cret"))
        #expect(try ring.open(envelope, context: "access_key/A") == Array("s3cret value".utf8))
        #expect(throws: SecretsError.self) { try ring.open(envelope, context: "access_key/B") }
        var bytes = Array(envelope.utf8)
        bytes[bytes.count - 3] = bytes[bytes.count - 3] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(throws: SecretsError.self) { try ring.open(String(decoding: bytes, as: UTF8.self), context: "access_key/A") }
        #expect(try ring.seal([1], context: "x") != ring.seal([1], context: "x"), "a fresh data key and nonce every time")
        #expect(throws: SecretsError.self) { try KeyRing(keys: [:]).seal([1], context: "x") }
    }

    @Test("rotation: a newer key seals, older envelopes still open, re-wrapping moves them to the newest key")
    func rotation() throws {
        let old = SymmetricKey(size: .bits256)
        let first = KeyRing(keys: [1: old])
        let envelope = try first.seal(Array("token".utf8), context: "vault/1")
        let rotated = KeyRing(keys: [1: old, 2: SymmetricKey(size: .bits256)])
        #expect(rotated.activeVersion == 2)
        #expect(try rotated.open(envelope, context: "vault/1") == Array("token".utf8))
        let rewrapped = try rotated.rewrap(envelope, context: "vault/1")
        #expect(try KeyRing.version(of: rewrapped) == 2)
        #expect(try rotated.rewrap(rewrapped, context: "vault/1") == rewrapped, "re-wrapping is idempotent")
        #expect(try rotated.open(rewrapped, context: "vault/1") == Array("token".utf8))
        #expect(throws: SecretsError.self) { try first.open(rewrapped, context: "vault/1") }
    }

    @Test("key files and the environment variable; loose permissions are refused")
    func loading() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try KeyRing.load(directory: directory, environment: [:]).isSealed)
        #expect(try KeyRing.generateKey(in: directory) == 1)
        #expect(try KeyRing.generateKey(in: directory) == 2)
        let ring = try KeyRing.load(directory: directory, environment: [:])
        #expect(ring.versions == [1, 2])
        let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/kek-2.key")
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)

        let environmentKey = Base64URL.encode([UInt8](repeating: 7, count: 32))
        #expect(try KeyRing.load(directory: directory, environment: [KeyRing.environmentVariable: "5:\(environmentKey)"]).versions == [1, 2, 5])
        #expect(throws: SecretsError.self) { try KeyRing.load(directory: nil, environment: [KeyRing.environmentVariable: "5:short"]) }
        #expect(throws: SecretsError.self) { try KeyRing.load(directory: directory, environment: [KeyRing.environmentVariable: "1:\(environmentKey)"]) }

        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: directory + "/kek-1.key")
        #expect { try KeyRing.load(directory: directory, environment: [:]) } throws: { ($0 as? SecretsError)?.detail.contains("chmod 600") == true }
    }
}
