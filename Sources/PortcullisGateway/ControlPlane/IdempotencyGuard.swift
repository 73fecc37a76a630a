import Crypto
import Foundation
import Logging
import PortcullisCore
import PortcullisStore
import Synchronization

/// Makes control-plane mutations idempotent under their `clientToken`: a retry with the same token and the same
/// request gets the first response; the same token with a different request is refused; a retry that arrives
/// while the first attempt still runs is told to retry (409 RetryableConflictException, which SDKs retry).
final class IdempotencyGuard: Sendable {
    /// How long a token is remembered.
    static let retention: TimeInterval = 8 * 3600

    private let store: any IdempotencyStore
    private let clock: any WallClock
    private let logger: Logger
    private let inFlight = Mutex<Set<String>>([])

    init(store: any IdempotencyStore, clock: any WallClock, logger: Logger) {
        self.store = store
        self.clock = clock
        self.logger = logger
    }

    /// The response to a mutation: the stored one for a repeated token, or `perform`'s, which is then stored.
    func run(
        operation: String,
        clientToken: String?,
        request: JSONValue,
        perform: () async throws -> (status: Int, body: JSONValue)
    ) async throws -> (status: Int, body: Data) {
        guard let clientToken else {
            let result = try await perform()
            return (result.status, try Self.encode(result.body))
        }
        let fingerprint = Array(SHA256.hash(data: Array(operation.utf8) + (try Self.encode(request))))
        let key = "\(operation)|\(clientToken)"
        let now = clock.now()
        if let previous = try await storeCall({
            try await self.store.idempotentResponse(operation: operation, clientToken: clientToken, notBefore: now - Self.retention)
        }) {
            guard ConstantTime.equals(previous.fingerprint, fingerprint) else {
                throw AgentCoreError(
                    .validation,
                    "The clientToken was already used with different parameters",
                    reason: .idempotentParameterMismatch
                )
            }
            return (previous.status, Data(previous.body))
        }
        guard inFlight.withLock({ $0.insert(key).inserted }) else {
            throw AgentCoreError(.retryableConflict, "A request with this clientToken is still in progress")
        }
        defer { _ = inFlight.withLock { $0.remove(key) } }
        let result = try await perform()
        let body = try Self.encode(result.body)
        try await storeCall {
            try await self.store.storeIdempotentResponse(
                IdempotentResponse(fingerprint: fingerprint, status: result.status, body: Array(body), createdAt: now),
                operation: operation,
                clientToken: clientToken
            )
        }
        return (result.status, body)
    }

    /// Forgets tokens past their retention.
    func purge() async {
        do {
            try await store.purgeIdempotentResponses(before: clock.now() - Self.retention)
        } catch {
            logger.warning("could not purge idempotency records", metadata: ["error": "\(error)"])
        }
    }

    static func encode(_ value: JSONValue) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }

    private func storeCall<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            logger.error("idempotency store failure", metadata: ["error": "\(error)"])
            throw AgentCoreError(.internalServer, "The control plane store is unavailable")
        }
    }
}
