import Foundation
public import Logging
public import PortcullisCore
public import PortcullisStore
import PortcullisIdentity

/// The token vault's credential providers: creating, changing and removing them with their secrets sealed, and
/// opening a secret for an authorized workload. Secrets are write-only through every API: nothing here returns
/// one except ``secret(of:)``, which the vault's own data-plane read calls after the policies allowed it.
public struct CredentialProviders: Sendable {
    /// The model's bound on an API key.
    public static let maxAPIKeyLength = 65_536

    let store: any CredentialProviderStore
    let keyRing: KeyRing
    let clock: any WallClock
    let logger: Logger
    /// Providers read in the last two seconds, by kind and name ("none" answers too): the vault's read path does
    /// not go to the store for them. Changes made through this process apply at once, others within that time.
    let records = CredentialRecordCache<CredentialProviderRecord>(lifetime: 2)
    /// OAuth2 registrations decoded from their stored form, by provider row and version.
    let registrations = CredentialRecordCache<OAuth2ClientRegistration>(lifetime: 3600)

    public init(store: any CredentialProviderStore, keyRing: KeyRing, clock: any WallClock, logger: Logger) {
        self.store = store
        self.keyRing = keyRing
        self.clock = clock
        self.logger = logger
    }

    /// Stores a new provider, its secret sealed for its row.
    /// - Throws: `EncryptionFailure` when no key-encryption key is loaded, `ConflictException` when the name is taken.
    public func create(
        name: String, kind: CredentialProviderRecord.Kind, vendor: String? = nil, configuration: JSONValue = .null, secret: String,
        tags: [String: String]
    ) async throws(AgentCoreError) -> CredentialProviderRecord {
        let now = clock.now()
        let id = SecureRandom.base32(26)
        let record = CredentialProviderRecord(
            id: id, name: name, kind: kind, vendor: vendor, configuration: configuration,
            sealedSecret: try seal(secret, context: CredentialProviderRecord.sealingContext(id: id)), tags: tags, createdAt: now, updatedAt: now
        )
        records.evict(id: Self.cacheKey(kind, name))
        do {
            try await store.insertCredentialProvider(record)
        } catch StoreError.conflict {
            throw AgentCoreError(.conflict, "A credential provider named \(name) already exists")
        } catch {
            throw storeFailure(error)
        }
        return record
    }

    /// Replaces a provider's configuration and secret (sealed anew).
    /// - Throws: `ResourceNotFoundException`, `EncryptionFailure`.
    public func update(
        name: String, kind: CredentialProviderRecord.Kind, vendor: String? = nil, configuration: JSONValue = .null, secret: String
    ) async throws(AgentCoreError) -> (before: CredentialProviderRecord, after: CredentialProviderRecord) {
        let existing = try await provider(kind: kind, name: name)
        var updated = existing
        updated.vendor = vendor
        updated.configuration = configuration
        updated.sealedSecret = try seal(secret, context: existing.sealingContext)
        updated.updatedAt = clock.now()
        records.evict(id: Self.cacheKey(kind, name))
        do {
            guard try await store.updateCredentialProvider(updated) else { throw Self.notFound(kind, name) }
        } catch let error as AgentCoreError {
            throw error
        } catch {
            throw storeFailure(error)
        }
        return (existing, updated)
    }

    /// - Throws: `ResourceNotFoundException` for a provider that does not exist.
    public func provider(kind: CredentialProviderRecord.Kind, name: String) async throws(AgentCoreError) -> CredentialProviderRecord {
        let found: CredentialProviderRecord?
        do {
            found = try await records.record(id: Self.cacheKey(kind, name), now: clock.now()) {
                try await store.credentialProvider(kind: kind, name: name)
            }
        } catch {
            throw storeFailure(error)
        }
        guard let found else { throw Self.notFound(kind, name) }
        return found
    }

    public func list(kind: CredentialProviderRecord.Kind, after: String?, limit: Int) async throws(AgentCoreError) -> [CredentialProviderRecord] {
        do {
            return try await store.credentialProviders(kind: kind, after: after, limit: limit)
        } catch {
            throw storeFailure(error)
        }
    }

    /// - Returns: the removed provider.
    /// - Throws: `ResourceNotFoundException`.
    public func delete(kind: CredentialProviderRecord.Kind, name: String) async throws(AgentCoreError) -> CredentialProviderRecord {
        let existing = try await provider(kind: kind, name: name)
        records.evict(id: Self.cacheKey(kind, name))
        do {
            guard try await store.deleteCredentialProvider(kind: kind, name: name) else { throw Self.notFound(kind, name) }
        } catch let error as AgentCoreError {
            throw error
        } catch {
            throw storeFailure(error)
        }
        return existing
    }

    /// The provider's secret, opened. Fails closed: a sealed vault, a missing key version or a secret that does not
    /// open for its row (moved, edited) yields an error, never a guess.
    public func secret(of record: CredentialProviderRecord) throws(AgentCoreError) -> String {
        do {
            return String(decoding: try keyRing.open(record.sealedSecret, context: record.sealingContext), as: UTF8.self)
        } catch {
            logger.error(
                "a credential provider's secret cannot be opened",
                metadata: ["provider": "\(record.name)", "kind": "\(record.kind.rawValue)", "reason": "\(error.code.rawValue)"]
            )
            switch error.code {
            case .sealed:
                throw AgentCoreError(.internalServer, "The token vault is sealed: no key-encryption key is loaded")
            case .unknownKeyVersion, .tampered, .unreadableKey:
                throw AgentCoreError(.internalServer, "The credential of provider \(record.name) cannot be read")
            }
        }
    }

    private func seal(_ secret: String, context: String) throws(AgentCoreError) -> String {
        do {
            return try keyRing.seal(Array(secret.utf8), context: context)
        } catch {
            throw AgentCoreError(.encryptionFailure, "The token vault is sealed: no key-encryption key is loaded (see portcullis keys generate)")
        }
    }

    private func storeFailure(_ error: any Error) -> AgentCoreError {
        logger.error("credential provider store failed", metadata: ["error": "\(error)"])
        return AgentCoreError(.internalServer, "The token vault's store is unavailable")
    }

    static func cacheKey(_ kind: CredentialProviderRecord.Kind, _ name: String) -> String { kind.rawValue + "/" + name }

    public static func notFound(_ kind: CredentialProviderRecord.Kind, _ name: String) -> AgentCoreError {
        AgentCoreError.notFound("No \(kind == .apiKey ? "API key" : "OAuth2") credential provider named \(name)")
    }
}

extension CredentialProviders {
    /// An OAuth 2.0 provider's client: what the vault's token calls use (its secret opened only for a vendor call).
    public func oauth2Client(_ record: CredentialProviderRecord) async throws(AgentCoreError) -> OAuth2Tokens.Client {
        let registration = await registrations.record(id: record.id + "@" + String(record.updatedAt.timeIntervalSince1970), now: Date()) {
            Self.registration(of: record)
        }
        guard record.kind == .oauth2, let vendor = record.vendor, let registration else {
            throw AgentCoreError(.internalServer, "The credential provider \(record.name) is not a usable OAuth2 provider")
        }
        return OAuth2Tokens.Client(
            providerId: record.id, providerName: record.name, profile: OAuth2VendorProfile.profile(for: vendor), registration: registration,
            provider: record, secret: { () throws(AgentCoreError) in try self.secret(of: record) }
        )
    }

    /// The stored registration of an OAuth 2.0 provider.
    public static func registration(of record: CredentialProviderRecord) -> OAuth2ClientRegistration? {
        guard let data = try? JSONEncoder().encode(record.configuration) else { return nil }
        return try? JSONDecoder().decode(OAuth2ClientRegistration.self, from: data)
    }

    /// A registration as stored configuration.
    public static func configuration(of registration: OAuth2ClientRegistration) -> JSONValue {
        guard let data = try? JSONEncoder().encode(registration), let value = try? JSONDecoder().decode(JSONValue.self, from: data) else { return .null }
        return value
    }
}
