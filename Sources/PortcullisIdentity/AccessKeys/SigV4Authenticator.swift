public import Foundation
public import Logging
public import PortcullisCore
public import PortcullisStore

/// Authenticates AWS Signature Version 4 requests (service `bedrock-agentcore`, both planes) against the
/// access keys in the store, so unmodified boto3 clients call the gateway with their usual credentials.
///
/// The request time must be within the clock window (`auth.sigV4ClockSkewSeconds`, default 5 minutes; a presigned
/// URL also until it expires), the scope's date must be the request's, and the signature is recomputed from the
/// raw request and compared in constant time. Key records are cached like API keys; the secret is unsealed only
/// to check a signature.
public final class SigV4Authenticator: InboundAuthenticator {
    private let store: any AccessKeyStore
    private let keyRing: KeyRing
    private let clock: any WallClock
    private let clockSkew: TimeInterval
    private let cache: CredentialRecordCache<AccessKeyRecord>
    private let logger: Logger

    public init(
        store: any AccessKeyStore,
        keyRing: KeyRing,
        clock: any WallClock = SystemWallClock(),
        clockSkewSeconds: Int,
        cacheLifetime: TimeInterval,
        logger: Logger
    ) {
        self.store = store
        self.keyRing = keyRing
        self.clock = clock
        self.clockSkew = TimeInterval(clockSkewSeconds)
        self.cache = CredentialRecordCache(lifetime: cacheLifetime)
        self.logger = logger
    }

    public func handles(_ credential: InboundCredential) -> Bool {
        if case .sigV4 = credential { return true }
        return false
    }

    public func authenticate(_ credential: InboundCredential) async throws(AuthenticationError) -> Principal {
        guard case .sigV4(let request) = credential else { throw AuthenticationError(.unsupportedCredential) }
        let record = try await precheck(request.credential)
        let secret: String
        do {
            secret = String(decoding: try keyRing.open(record.sealedSecret, context: AccessKeyRecord.sealingContext(id: record.id)), as: UTF8.self)
        } catch {
            logger.error("an access key's secret cannot be unsealed", metadata: ["access_key": "\(record.id)", "error": "\(error.code.rawValue)"])
            throw AuthenticationError(.unknownAccessKey, "the secret of \(record.id) cannot be unsealed (\(error.code.rawValue))")
        }
        let expected = SigV4Signature.signature(of: request, secret: secret)
        guard ConstantTime.equals(Array(expected.utf8), Array(request.credential.signature.utf8)) else {
            throw AuthenticationError(.signatureMismatch, "the signature of a request by \(record.id) does not match")
        }
        cache.markUsed(record.id)
        return Principal(
            method: .sigV4,
            id: "accesskey:\(record.id)",
            displayName: record.name,
            agentScope: record.agentScope,
            isAdministrator: record.isAdministrator,
            mayActForUsers: record.mayActForUsers
        )
    }

    /// Everything that can be checked before the body is read: scope, service, time window, and that the key
    /// exists and is usable. Callers run it before spooling a body for the payload hash.
    @discardableResult
    public func precheck(_ credential: SigV4Credential) async throws(AuthenticationError) -> AccessKeyRecord {
        guard credential.service == SigV4Credential.service else {
            throw AuthenticationError(.malformedSignature, "the credential scope names service \(credential.service), not \(SigV4Credential.service)")
        }
        guard let requestTime = credential.requestTime, let signedAt = SigV4Signature.date(fromRequestTime: requestTime) else {
            throw AuthenticationError(.malformedSignature, "X-Amz-Date is missing or not yyyyMMdd'T'HHmmss'Z'")
        }
        guard requestTime.hasPrefix(credential.date) else {
            throw AuthenticationError(.malformedSignature, "the credential scope's date is not the request's date")
        }
        let now = clock.now()
        let earliest = signedAt.addingTimeInterval(-clockSkew)
        let latest = signedAt.addingTimeInterval(credential.expiresSeconds.map(TimeInterval.init) ?? clockSkew)
        guard now >= earliest, now <= latest else {
            throw AuthenticationError(.requestTimeSkewed, "signed at \(requestTime), \(Int(now.timeIntervalSince(signedAt))) s from now")
        }
        guard let record = try await record(id: credential.accessKeyId, now: now) else {
            throw AuthenticationError(.unknownAccessKey, "no access key \(credential.accessKeyId.prefix(32))")
        }
        guard record.isUsable(at: now) else {
            throw AuthenticationError(.unknownAccessKey, "access key \(record.id) is \(record.revokedAt != nil ? "revoked" : "expired")")
        }
        return record
    }

    /// Forgets a cached key, so a revocation applies to the next request.
    public func evict(id: String) {
        cache.evict(id: id)
    }

    /// Writes the last-used time of every key used since the previous flush.
    public func flushUsage() async {
        do {
            try await store.recordAccessKeyUse(ids: cache.takeUsed(), at: clock.now())
        } catch {
            logger.warning("could not record access key use", metadata: ["error": "\(error)"])
        }
    }

    private func record(id: String, now: Date) async throws(AuthenticationError) -> AccessKeyRecord? {
        guard AccessKeyFormat.isKeyId(id) else { return nil }
        do {
            return try await cache.record(id: id, now: now) { [store] in try await store.accessKey(id: id) }
        } catch {
            logger.error("access key lookup failed", metadata: ["error": "\(error)"])
            throw AuthenticationError(.unknownAccessKey, "the store did not answer")
        }
    }
}
