public import PortcullisCore

/// A JWKS document read key by key: one unusable entry (an encryption key, an unknown curve) is skipped and
/// reported instead of making the whole set fail, and keys are indexed by `kid` only.
public struct JSONWebKeySet: Sendable {
    /// A key-set entry that was not loaded, and why.
    public struct Rejection: Sendable, Equatable {
        public var keyId: String?
        public var reason: String
    }

    public let keys: [String: VerificationKey]
    public let rejected: [Rejection]

    public init(keys: [String: VerificationKey], rejected: [Rejection] = []) {
        self.keys = keys
        self.rejected = rejected
    }

    /// Reads a JWKS document (`{"keys": [...]}`).
    /// - Throws: ``JOSEError/Code/malformed`` when the document itself is not a key set, and
    ///   ``JOSEError/Code/unusableKey`` for a set that mixes shared secrets with public keys.
    public init(json: [UInt8], policy: KeyPolicy) throws(JOSEError) {
        let document: [String: JSONValue]
        do {
            document = try StrictJSON.parseObject(json, maxDepth: 8)
        } catch {
            throw JOSEError(.malformed, "the key set is not a JSON object: \(error)")
        }
        guard case .array(let entries)? = document["keys"] else { throw JOSEError(.malformed, "the key set has no keys array") }
        try self.init(entries: entries, policy: policy)
    }

    /// Reads the entries of a key set.
    public init(entries: [JSONValue], policy: KeyPolicy) throws(JOSEError) {
        var loaded: [String: VerificationKey] = [:]
        var rejected: [Rejection] = []
        var kinds = Set<String>()
        // Two entries under one kid make the choice ambiguous, even if one of them would not load: neither is used.
        var seenKeyIds = Set<String>()
        var duplicated = Set<String>()
        for case .object(let members) in entries {
            if let keyId = members["kid"]?.stringValue, !seenKeyIds.insert(keyId).inserted { duplicated.insert(keyId) }
        }
        for entry in entries {
            guard case .object(let members) = entry else {
                rejected.append(Rejection(keyId: nil, reason: "an entry is not a JSON object"))
                continue
            }
            if let keyType = members["kty"]?.stringValue { kinds.insert(keyType == "oct" ? "secret" : "public") }
            do {
                let key = try JSONWebKey.verificationKey(members, policy: policy)
                loaded[key.keyId] = key
            } catch {
                rejected.append(Rejection(keyId: members["kid"]?.stringValue, reason: error.detail))
            }
        }
        // Where secrets are allowed at all, a set holding both kinds is a configuration mistake (a public set with a
        // secret pasted in, or the reverse); elsewhere secret entries are simply skipped above.
        guard !policy.allowsSymmetricKeys || kinds.count < 2 else {
            throw JOSEError(.unusableKey, "the key set mixes shared secrets with public keys")
        }
        for keyId in duplicated.sorted() {
            loaded.removeValue(forKey: keyId)
            rejected.append(Rejection(keyId: keyId, reason: "several keys share the kid \(keyId)"))
        }
        self.keys = loaded
        self.rejected = rejected
    }
}
