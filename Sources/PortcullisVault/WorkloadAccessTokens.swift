public import Crypto
public import Foundation
public import PortcullisCore

/// Mints and opens workload access tokens: short-lived tokens that say "workload W, acting for user U", sealed
/// with AES-256-GCM by the gateway so an agent can neither read nor forge one, and every gateway sharing the key
/// ring accepts the others' tokens.
///
/// The sealing key is derived (HKDF-SHA256) from each key-encryption key of the ring, and a token names the key
/// version it was sealed with, so a rotation does not cut off tokens minted just before it. A gateway without a key
/// ring seals with a key of its own process (tokens then hold only until it restarts, and only on that gateway).
///
/// Format: `pwat1.` + base64url(key version (4 bytes, big-endian) ‖ AES-GCM nonce ‖ ciphertext ‖ tag), the plaintext
/// being compact JSON `{"exp","iat","jti","user","workload"}` and the AAD the prefix and key version.
public struct WorkloadAccessTokens: Sendable {
    static let prefix = "pwat1."
    /// Far above what a token needs (~300 bytes), far below the model's 131072-character bound.
    static let maxTokenLength = 8192

    private let keys: [UInt32: SymmetricKey]
    private let activeVersion: UInt32
    public let lifetime: TimeInterval

    /// - Parameter lifetime: how long a minted token is good for (seconds).
    public init(keyRing: KeyRing, lifetime: TimeInterval) {
        var keys: [UInt32: SymmetricKey] = [:]
        for version in keyRing.versions {
            if let key = keyRing.derivedKey(version: version, purpose: "workload-access-token") { keys[version] = key }
        }
        if keys.isEmpty {
            // Version 0 is never a ring's: the key of this process only.
            keys[0] = SymmetricKey(size: .bits256)
        }
        self.keys = keys
        self.activeVersion = keys.keys.max()!
        self.lifetime = lifetime
    }

    /// Whether tokens hold across restarts and gateways (a key ring is loaded).
    public var isDurable: Bool { activeVersion != 0 }

    /// A new token for `workload`, bound to `user` when there is one.
    public func mint(workload: String, user: WorkloadUser?, now: Date) -> String {
        let claims = WorkloadAccessTokenClaims(
            workload: workload, user: user, issuedAt: now, expiresAt: now.addingTimeInterval(lifetime), tokenId: SecureRandom.base32(16)
        )
        return seal(claims)
    }

    func seal(_ claims: WorkloadAccessTokenClaims) -> String {
        var members: [String: JSONValue] = [
            "workload": .string(claims.workload),
            "iat": .number(claims.issuedAt.timeIntervalSince1970.rounded(.down)),
            "exp": .number(claims.expiresAt.timeIntervalSince1970.rounded(.down)),
            "jti": .string(claims.tokenId),
        ]
        if let user = claims.user { members["user"] = .string(user.key) }
        let version = activeVersion
        // A fresh random nonce per token; 2^32 tokens per key stay far inside AES-GCM's bound.
        let sealed = try! AES.GCM.seal(JSONValue.object(members).serialized(), using: keys[version]!, authenticating: Self.aad(version))
        var bytes = [UInt8(version >> 24), UInt8(version >> 16 & 0xFF), UInt8(version >> 8 & 0xFF), UInt8(version & 0xFF)]
        bytes += sealed.combined!
        return Self.prefix + Base64URL.encode(bytes)
    }

    /// Opens a token and checks that it has not expired.
    /// - Throws: `UnauthorizedException` for a token that is malformed, forged, sealed by a key not loaded here, or expired.
    public func open(_ token: String, now: Date) throws(AgentCoreError) -> WorkloadAccessTokenClaims {
        guard token.utf8.count <= Self.maxTokenLength, token.hasPrefix(Self.prefix),
            let bytes = Base64URL.decode(token.dropFirst(Self.prefix.count)), bytes.count > 4 + 12 + 16
        else { throw Self.invalid }
        let version = UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
        guard let key = keys[version], let box = try? AES.GCM.SealedBox(combined: bytes[4...]),
            let plaintext = try? AES.GCM.open(box, using: key, authenticating: Self.aad(version)),
            let members = try? StrictJSON.parseObject(Array(plaintext)),
            case .string(let workload)? = members["workload"],
            case .number(let issuedAt)? = members["iat"],
            case .number(let expiresAt)? = members["exp"],
            case .string(let tokenId)? = members["jti"]
        else { throw Self.invalid }
        var user: WorkloadUser?
        if let value = members["user"] {
            guard case .string(let key) = value, let parsed = WorkloadUser(key: key) else { throw Self.invalid }
            user = parsed
        }
        guard now.timeIntervalSince1970 < expiresAt else {
            throw AgentCoreError(.unauthorized, "The workload access token has expired; the agent gets a new one with each invocation")
        }
        return WorkloadAccessTokenClaims(
            workload: workload, user: user, issuedAt: Date(timeIntervalSince1970: issuedAt), expiresAt: Date(timeIntervalSince1970: expiresAt),
            tokenId: tokenId
        )
    }

    private static func aad(_ version: UInt32) -> [UInt8] { Array("\(prefix)\(version)".utf8) }

    private static var invalid: AgentCoreError { AgentCoreError(.unauthorized, "The workload access token is not valid") }
}
