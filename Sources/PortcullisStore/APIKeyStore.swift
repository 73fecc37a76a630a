public import Foundation
public import PortcullisCore

/// Persistence of API keys (hashes only).
public protocol APIKeyStore: Sendable {
    func insertAPIKey(_ record: APIKeyRecord) async throws
    func apiKey(id: String) async throws -> APIKeyRecord?
    /// Every key, newest first, revoked ones included.
    func apiKeys() async throws -> [APIKeyRecord]
    /// Marks a key revoked. Returns `false` when no such key exists; revoking twice keeps the first time.
    func revokeAPIKey(id: String, at date: Date) async throws -> Bool
    /// Records that keys were used, at most once per key per call.
    func recordAPIKeyUse(ids: [String], at date: Date) async throws
}
