public import Foundation

/// A control-plane response remembered under the caller's `clientToken`, so a retried request gets the first
/// answer instead of doing the work twice.
public struct IdempotentResponse: Sendable, Equatable {
    /// SHA-256 of the request it answered; a different request under the same token is refused.
    public var fingerprint: [UInt8]
    public var status: Int
    public var body: [UInt8]
    public var createdAt: Date

    public init(fingerprint: [UInt8], status: Int, body: [UInt8], createdAt: Date) {
        self.fingerprint = fingerprint
        self.status = status
        self.body = body
        self.createdAt = createdAt
    }
}

/// Persistence of idempotent responses.
public protocol IdempotencyStore: Sendable {
    func idempotentResponse(operation: String, clientToken: String, notBefore: Date) async throws -> IdempotentResponse?
    func storeIdempotentResponse(_ response: IdempotentResponse, operation: String, clientToken: String) async throws
    /// Forgets responses recorded before `date`.
    func purgeIdempotentResponses(before date: Date) async throws
}
