public import PortcullisCore

/// The protected header of a JWS, checked against what Portcullis is willing to honour.
///
/// Refused outright: a missing or unknown `alg` (including `none` in any spelling), headers that carry or point at
/// keys (`jwk`, `jku`, `x5c`, `x5u`) — keys come only from the issuer's configured key set — the RFC 7797 `b64`
/// parameter, JWE members, nested tokens (`cty: JWT`) and any `crit` extension, since none is implemented.
public struct JOSEHeader: Sendable {
    public let algorithm: JWSAlgorithm
    public let keyId: String?
    public let type: String?
    public let members: [String: JSONValue]

    /// Longest accepted `kid`: it is an opaque lookup key, never a path or a query.
    static let maxKeyIdBytes = 1024
    static let keyCarryingMembers = ["jwk", "jku", "x5c", "x5u"]
    static let encryptionMembers = ["enc", "zip", "epk", "apu", "apv", "iv", "tag", "p2s", "p2c"]

    public init(members: [String: JSONValue]) throws(JOSEError) {
        guard case .string(let name)? = members["alg"] else { throw JOSEError(.unsupportedAlgorithm, "the header has no alg") }
        guard let algorithm = JWSAlgorithm(rawValue: name) else {
            throw JOSEError(.unsupportedAlgorithm, "alg '\(name.prefix(32))' is not supported")
        }
        if let member = Self.keyCarryingMembers.first(where: { members[$0] != nil }) {
            throw JOSEError(.forbiddenHeader, "the header carries '\(member)'; keys come only from the issuer's key set")
        }
        if let member = Self.encryptionMembers.first(where: { members[$0] != nil }) {
            throw JOSEError(.forbiddenHeader, "the header carries the JWE member '\(member)'")
        }
        if members["b64"] != nil {
            throw JOSEError(.forbiddenHeader, "unencoded payloads (b64) are not supported")
        }
        if let critical = members["crit"] {
            guard case .array(let names) = critical, !names.isEmpty else {
                throw JOSEError(.malformed, "crit must be a non-empty array")
            }
            let listed = names.compactMap(\.stringValue).prefix(4).joined(separator: ", ")
            throw JOSEError(.unsupportedCritical, "crit names extensions that are not implemented: \(listed)")
        }
        if case .string(let contentType)? = members["cty"], contentType.uppercased() == "JWT" || contentType.lowercased() == "application/jwt" {
            throw JOSEError(.forbiddenHeader, "nested tokens (cty: JWT) are not accepted")
        }
        switch members["kid"] {
        case nil:
            self.keyId = nil
        case .string(let keyId)?:
            guard !keyId.isEmpty, keyId.utf8.count <= Self.maxKeyIdBytes else {
                throw JOSEError(.malformed, "kid must be 1-\(Self.maxKeyIdBytes) bytes")
            }
            self.keyId = keyId
        default:
            throw JOSEError(.malformed, "kid must be a string")
        }
        switch members["typ"] {
        case nil: self.type = nil
        case .string(let type)?: self.type = type
        default: throw JOSEError(.malformed, "typ must be a string")
        }
        if let contentType = members["cty"], contentType.stringValue == nil {
            throw JOSEError(.malformed, "cty must be a string")
        }
        self.algorithm = algorithm
        self.members = members
    }
}
