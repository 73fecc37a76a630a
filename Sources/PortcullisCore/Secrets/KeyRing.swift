public import Crypto
public import Foundation

/// The versioned key-encryption keys that seal secrets at rest (AES-256-GCM envelopes).
///
/// Each secret gets a fresh 256-bit data key; the data key is wrapped by the newest key-encryption key, and both
/// layers are bound (as AAD) to the context the secret belongs to — a row's table and id — so a sealed value
/// copied onto another row does not open. Rotating means adding a newer key and re-wrapping data keys
/// (``rewrap(_:context:)``); the secrets themselves are never re-encrypted.
///
/// Keys come from files `kek-<version>.key` in a directory (each a base64url 32-byte key, readable by the owner
/// only) and from the environment variable `PORTCULLIS_KEY_RING` (`<version>:<base64url>,…`). A ring with no keys is
/// sealed: it opens and seals nothing, so the gateway refuses to serve or store secrets rather than guess.
public struct KeyRing: Sendable {
    public static let environmentVariable = "PORTCULLIS_KEY_RING"
    static let envelopePrefix = "pcs1."
    static let formatVersion: UInt8 = 1

    private let keys: [UInt32: SymmetricKey]

    /// The version new envelopes are wrapped with: the highest.
    public var activeVersion: UInt32? { keys.keys.max() }
    public var versions: [UInt32] { keys.keys.sorted() }
    public var isSealed: Bool { keys.isEmpty }

    public init(keys: [UInt32: SymmetricKey]) {
        self.keys = keys
    }

    /// The ring from a key directory (absent: no keys from files) and the environment.
    public static func load(directory: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws(SecretsError) -> KeyRing {
        var keys: [UInt32: SymmetricKey] = [:]
        if let directory, FileManager.default.fileExists(atPath: directory) {
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: directory)
            } catch {
                throw SecretsError(.unreadableKey, "cannot list the key directory \(directory)")
            }
            for name in names.sorted() {
                guard let version = Self.version(fromFileName: name) else { continue }
                let path = directory + "/" + name
                try Self.checkPermissions(path)
                guard let data = FileManager.default.contents(atPath: path),
                    let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
                    let bytes = Base64URL.decode(text), bytes.count == 32
                else {
                    throw SecretsError(.unreadableKey, "\(path) does not hold a base64url 32-byte key")
                }
                keys[version] = SymmetricKey(data: bytes)
            }
        }
        if let value = environment[environmentVariable], !value.isEmpty {
            for entry in value.split(separator: ",") {
                let parts = entry.split(separator: ":", maxSplits: 1)
                guard parts.count == 2, let version = UInt32(parts[0]), version > 0, let bytes = Base64URL.decode(parts[1]), bytes.count == 32 else {
                    throw SecretsError(.unreadableKey, "\(environmentVariable) must be <version>:<base64url 32-byte key>[,…]")
                }
                if let existing = keys[version], existing != SymmetricKey(data: bytes) {
                    throw SecretsError(.unreadableKey, "key version \(version) differs between the key directory and \(environmentVariable)")
                }
                keys[version] = SymmetricKey(data: bytes)
            }
        }
        return KeyRing(keys: keys)
    }

    /// Writes a new key one version above the newest in `directory` (created 0700), file mode 0600.
    /// - Returns: the new version.
    @discardableResult
    public static func generateKey(in directory: String) throws(SecretsError) -> UInt32 {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw SecretsError(.unreadableKey, "cannot create the key directory \(directory)")
        }
        let existing = try load(directory: directory, environment: [:]).versions
        let version = (existing.max() ?? 0) + 1
        let path = directory + "/kek-\(version).key"
        let text = Base64URL.encode(SecureRandom.bytes(32)) + "\n"
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw SecretsError(.unreadableKey, "cannot write \(path)")
        }
        return version
    }

    /// A key for one purpose (`workload-access-token`, …) derived from key-encryption key `version` with
    /// HKDF-SHA256, so the key-encryption keys themselves never seal anything but data keys.
    public func derivedKey(version: UInt32, purpose: String) -> SymmetricKey? {
        guard let key = keys[version] else { return nil }
        return HKDF<SHA256>.deriveKey(inputKeyMaterial: key, info: Array("portcullis/\(purpose)".utf8), outputByteCount: 32)
    }

    // MARK: - Envelopes

    /// Seals `plaintext` for `context` with the active key.
    public func seal(_ plaintext: [UInt8], context: String) throws(SecretsError) -> String {
        guard let version = activeVersion, let keyEncryptionKey = keys[version] else {
            throw SecretsError(.sealed, "no key-encryption key is loaded")
        }
        let dataKey = SymmetricKey(size: .bits256)
        do {
            let wrapped = try AES.GCM.seal(dataKey.withUnsafeBytes { Array($0) }, using: keyEncryptionKey, authenticating: Self.wrapAAD(version: version, context: context))
            let sealed = try AES.GCM.seal(plaintext, using: dataKey, authenticating: Self.dataAAD(context: context))
            return Self.encode(version: version, wrappedKey: Array(wrapped.combined!), ciphertext: Array(sealed.combined!))
        } catch {
            throw SecretsError(.sealed, "encryption failed")
        }
    }

    /// Opens an envelope sealed for `context`.
    public func open(_ envelope: String, context: String) throws(SecretsError) -> [UInt8] {
        let parsed = try Self.decode(envelope)
        let dataKey = try unwrap(parsed, context: context)
        do {
            let box = try AES.GCM.SealedBox(combined: parsed.ciphertext)
            return Array(try AES.GCM.open(box, using: dataKey, authenticating: Self.dataAAD(context: context)))
        } catch {
            throw SecretsError(.tampered, "the sealed value does not open for this record")
        }
    }

    /// The envelope with its data key wrapped by the active key (unchanged when it already is).
    public func rewrap(_ envelope: String, context: String) throws(SecretsError) -> String {
        let parsed = try Self.decode(envelope)
        guard let active = activeVersion else { throw SecretsError(.sealed, "no key-encryption key is loaded") }
        if parsed.version == active { return envelope }
        let dataKey = try unwrap(parsed, context: context)
        do {
            let wrapped = try AES.GCM.seal(dataKey.withUnsafeBytes { Array($0) }, using: keys[active]!, authenticating: Self.wrapAAD(version: active, context: context))
            return Self.encode(version: active, wrappedKey: Array(wrapped.combined!), ciphertext: parsed.ciphertext)
        } catch {
            throw SecretsError(.sealed, "encryption failed")
        }
    }

    /// The key version an envelope is wrapped with.
    public static func version(of envelope: String) throws(SecretsError) -> UInt32 {
        try decode(envelope).version
    }

    private struct Parsed {
        var version: UInt32
        var wrappedKey: [UInt8]
        var ciphertext: [UInt8]
    }

    private func unwrap(_ parsed: Parsed, context: String) throws(SecretsError) -> SymmetricKey {
        guard let keyEncryptionKey = keys[parsed.version] else {
            throw SecretsError(isSealed ? .sealed : .unknownKeyVersion, "key version \(parsed.version) is not loaded")
        }
        do {
            let box = try AES.GCM.SealedBox(combined: parsed.wrappedKey)
            return SymmetricKey(data: try AES.GCM.open(box, using: keyEncryptionKey, authenticating: Self.wrapAAD(version: parsed.version, context: context)))
        } catch {
            throw SecretsError(.tampered, "the sealed value does not open for this record")
        }
    }

    private static func wrapAAD(version: UInt32, context: String) -> [UInt8] {
        Array("portcullis/data-key/v\(version)/\(context)".utf8)
    }

    private static func dataAAD(context: String) -> [UInt8] {
        Array("portcullis/secret/\(context)".utf8)
    }

    /// `pcs1.` + base64url(format ‖ version (4 bytes, big-endian) ‖ wrapped-key length (2) ‖ wrapped key ‖ ciphertext).
    private static func encode(version: UInt32, wrappedKey: [UInt8], ciphertext: [UInt8]) -> String {
        var bytes: [UInt8] = [formatVersion]
        bytes += [UInt8(version >> 24), UInt8(version >> 16 & 0xFF), UInt8(version >> 8 & 0xFF), UInt8(version & 0xFF)]
        bytes += [UInt8(wrappedKey.count >> 8), UInt8(wrappedKey.count & 0xFF)]
        return envelopePrefix + Base64URL.encode(bytes + wrappedKey + ciphertext)
    }

    private static func decode(_ envelope: String) throws(SecretsError) -> Parsed {
        guard envelope.hasPrefix(envelopePrefix), let bytes = Base64URL.decode(envelope.dropFirst(envelopePrefix.count)),
            bytes.count > 7, bytes[0] == formatVersion
        else {
            throw SecretsError(.tampered, "not a sealed value")
        }
        let version = UInt32(bytes[1]) << 24 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 8 | UInt32(bytes[4])
        let wrappedLength = Int(bytes[5]) << 8 | Int(bytes[6])
        guard bytes.count > 7 + wrappedLength else { throw SecretsError(.tampered, "not a sealed value") }
        return Parsed(version: version, wrappedKey: Array(bytes[7..<(7 + wrappedLength)]), ciphertext: Array(bytes[(7 + wrappedLength)...]))
    }

    private static func version(fromFileName name: String) -> UInt32? {
        guard name.hasPrefix("kek-"), name.hasSuffix(".key") else { return nil }
        return UInt32(name.dropFirst(4).dropLast(4)).flatMap { $0 > 0 ? $0 : nil }
    }

    /// Key files must be readable by their owner only.
    private static func checkPermissions(_ path: String) throws(SecretsError) {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let permissions = (attributes[.posixPermissions] as? NSNumber)?.intValue
        else {
            throw SecretsError(.unreadableKey, "cannot read \(path)")
        }
        guard permissions & 0o077 == 0 else {
            throw SecretsError(.unreadableKey, "\(path) is readable by others (mode \(String(permissions, radix: 8))); chmod 600 it")
        }
    }
}

/// Why a secret could not be sealed or opened. Never carries key material or plaintext.
public struct SecretsError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// No key-encryption key is loaded: secrets can be neither stored nor read.
        case sealed
        /// The envelope names a key version that is not loaded.
        case unknownKeyVersion = "unknown_key_version"
        /// The envelope is malformed, was altered, or belongs to another record.
        case tampered
        /// A key file or the key environment variable is unusable.
        case unreadableKey = "unreadable_key"
    }

    public var code: Code
    public var detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "\(code.rawValue): \(detail)" }
}
