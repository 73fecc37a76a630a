public import PortcullisCore
public import PortcullisStore

/// Re-wraps every sealed secret's data key with the key ring's newest key-encryption key, so an older key can be
/// retired. Only the wrapped data keys change; the secrets themselves are not re-encrypted.
///
/// Each row is its own write and a row already on the newest key is left alone, so the job can stop anywhere (a
/// crash, `limit`) and run again: it finishes where it left off, and every row opens throughout with the old key
/// or the new one. A row changed meanwhile (a provider updated) is skipped — it was sealed anew, with the newest key.
public struct SecretRewrap: Sendable {
    public struct Progress: Sendable, Equatable {
        /// Rows re-wrapped by this run.
        public var rewrapped = 0
        /// Rows already on the newest key.
        public var current = 0
        /// Rows left for a later run (the `limit` was reached).
        public var remaining = 0
        /// Rows that do not open for their record (tampered, or sealed with a key not loaded): never rewritten.
        public var unreadable: [String] = []

        public init() {}
    }

    let keyRing: KeyRing
    let accessKeys: any AccessKeyStore
    let providers: any CredentialProviderStore
    let vault: any VaultTokenStore

    public init(keyRing: KeyRing, accessKeys: any AccessKeyStore, providers: any CredentialProviderStore, vault: any VaultTokenStore) {
        self.keyRing = keyRing
        self.accessKeys = accessKeys
        self.providers = providers
        self.vault = vault
    }

    /// - Parameter limit: at most this many rows are rewritten (for tests of an interrupted run).
    public func run(limit: Int = .max) async throws -> Progress {
        guard let active = keyRing.activeVersion else { throw SecretsError(.sealed, "no key-encryption key is loaded") }
        var progress = Progress()
        for record in try await accessKeys.accessKeys() {
            let context = AccessKeyRecord.sealingContext(id: record.id)
            guard let rewrapped = step(record.sealedSecret, context: context, name: "access key \(record.id)", active: active, limit: limit, &progress) else { continue }
            try await accessKeys.updateAccessKeySecret(id: record.id, sealedSecret: rewrapped)
            progress.rewrapped += 1
        }
        for (id, sealed) in try await providers.sealedProviderSecrets() {
            let context = CredentialProviderRecord.sealingContext(id: id)
            guard let rewrapped = step(sealed, context: context, name: "credential provider \(id)", active: active, limit: limit, &progress) else { continue }
            if try await providers.replaceSealedSecret(providerId: id, expected: sealed, with: rewrapped) {
                progress.rewrapped += 1
            } else {
                progress.current += 1
            }
        }
        // The vault's grants, consents in progress and queued revocations.
        for value in try await vault.sealedVaultValues() {
            let name = "\(value.column.rawValue) \(value.rowId)"
            guard let rewrapped = step(value.sealed, context: value.context, name: name, active: active, limit: limit, &progress) else { continue }
            if try await vault.replaceSealedVaultValue(value, with: rewrapped) {
                progress.rewrapped += 1
            } else {
                // Refreshed, replaced or deleted meanwhile: whatever is there now was sealed with the newest key.
                progress.current += 1
            }
        }
        return progress
    }

    /// The re-wrapped envelope, or `nil` when the row needs nothing (or must not be touched, or waits for a later run).
    private func step(_ sealed: String, context: String, name: String, active: UInt32, limit: Int, _ progress: inout Progress) -> String? {
        guard let version = try? KeyRing.version(of: sealed) else {
            progress.unreadable.append(name)
            return nil
        }
        if version == active {
            progress.current += 1
            return nil
        }
        guard progress.rewrapped < limit else {
            progress.remaining += 1
            return nil
        }
        guard let rewrapped = try? keyRing.rewrap(sealed, context: context) else {
            progress.unreadable.append(name)
            return nil
        }
        return rewrapped
    }
}
