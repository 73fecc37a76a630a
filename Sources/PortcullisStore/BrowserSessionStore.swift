public import Foundation

/// A signed-in browser: the principal its ID token named, until it expires or signs out. Only the SHA-256 of the
/// session cookie is stored.
public struct BrowserSessionRecord: Sendable, Equatable {
    public var idHash: [UInt8]
    /// The principal, as JSON.
    public var principal: [UInt8]
    public var createdAt: Date
    public var expiresAt: Date

    public init(idHash: [UInt8], principal: [UInt8], createdAt: Date, expiresAt: Date) {
        self.idHash = idHash
        self.principal = principal
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// Persistence of browser sessions, so a sign-in survives a restart and is shared by every node.
public protocol BrowserSessionStore: Sendable {
    func insertBrowserSession(_ record: BrowserSessionRecord) async throws
    func browserSession(idHash: [UInt8]) async throws -> BrowserSessionRecord?
    func deleteBrowserSession(idHash: [UInt8]) async throws
    /// Removes sessions that expired before `date`; returns how many.
    func purgeBrowserSessions(expiredBefore date: Date) async throws -> Int
}
