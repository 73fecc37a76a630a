public import Foundation
public import PortcullisCore

/// Persistence of SigV4 access keys (secrets sealed by the key ring).
public protocol AccessKeyStore: Sendable {
    func insertAccessKey(_ record: AccessKeyRecord) async throws
    func accessKey(id: String) async throws -> AccessKeyRecord?
    /// Every key, newest first, revoked ones included.
    func accessKeys() async throws -> [AccessKeyRecord]
    /// Marks a key revoked. Returns `false` when no such key exists; revoking twice keeps the first time.
    func revokeAccessKey(id: String, at date: Date) async throws -> Bool
    /// Records that keys were used.
    func recordAccessKeyUse(ids: [String], at date: Date) async throws
    /// Replaces a key's sealed secret (re-wrapping under a newer key-encryption key).
    func updateAccessKeySecret(id: String, sealedSecret: String) async throws
}
