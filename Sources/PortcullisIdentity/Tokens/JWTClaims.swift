public import PortcullisCore

/// The claims of a JWT with the registered ones typed and checked (RFC 7519 §4.1); every claim stays available
/// raw for profiles and policies.
///
/// A claim of the wrong type makes the whole token malformed rather than absent: `exp: "tomorrow"` is refused,
/// not treated as a token that never expires. `exp` is required.
public struct JWTClaims: Sendable {
    public let members: [String: JSONValue]
    public let issuer: String
    public let subject: String?
    public let audiences: [String]
    public let expiresAt: Double
    public let notBefore: Double?
    public let issuedAt: Double?

    public init(payload: [UInt8]) throws(AuthenticationError) {
        let members: [String: JSONValue]
        do {
            members = try StrictJSON.parseObject(payload, maxDepth: 16)
        } catch {
            throw AuthenticationError(.malformedToken, "the claims are not a JSON object: \(error)")
        }
        try self.init(members: members)
    }

    public init(members: [String: JSONValue]) throws(AuthenticationError) {
        guard case .string(let issuer)? = members["iss"], !issuer.isEmpty else {
            throw AuthenticationError(.malformedToken, "the token has no iss")
        }
        switch members["sub"] {
        case nil: self.subject = nil
        case .string(let subject)?: self.subject = subject
        default: throw AuthenticationError(.malformedToken, "sub is not a string")
        }
        switch members["aud"] {
        case nil:
            self.audiences = []
        case .string(let audience)?:
            self.audiences = [audience]
        case .array(let items)?:
            self.audiences = try items.map { item throws(AuthenticationError) in
                guard case .string(let audience) = item else { throw AuthenticationError(.malformedToken, "aud holds a non-string") }
                return audience
            }
        default:
            throw AuthenticationError(.malformedToken, "aud is neither a string nor an array")
        }
        guard let expiresAt = try Self.numericDate(members, "exp") else {
            throw AuthenticationError(.malformedToken, "the token has no exp")
        }
        self.expiresAt = expiresAt
        self.notBefore = try Self.numericDate(members, "nbf")
        self.issuedAt = try Self.numericDate(members, "iat")
        self.issuer = issuer
        self.members = members
    }

    /// Checks `exp`, `nbf` and `iat` against `now` (seconds since 1970), allowing `leeway` seconds of skew.
    public func checkTimes(now: Double, leeway: Double) throws(AuthenticationError) {
        guard now < expiresAt + leeway else { throw AuthenticationError(.tokenExpired, "exp has passed") }
        if let notBefore, now + leeway < notBefore {
            throw AuthenticationError(.tokenNotYetValid, "nbf is in the future")
        }
        if let issuedAt, now + leeway < issuedAt {
            throw AuthenticationError(.tokenNotYetValid, "iat is in the future")
        }
    }

    /// A NumericDate claim: a JSON number (finite by construction of the parser), or absent.
    private static func numericDate(_ members: [String: JSONValue], _ name: String) throws(AuthenticationError) -> Double? {
        switch members[name] {
        case nil: return nil
        case .number(let value)?: return value
        default: throw AuthenticationError(.malformedToken, "\(name) is not a number")
        }
    }

    /// A string claim, or `nil` when absent or not a string.
    public func string(_ name: String) -> String? {
        members[name]?.stringValue
    }

    /// A claim read as a list of strings: an array's strings, or a string split on spaces (as `scope` and Entra's
    /// `scp` are sent).
    public func stringList(_ name: String) -> [String] {
        switch members[name] {
        case .string(let text)?: return text.split(separator: " ").map(String.init)
        case .array(let items)?: return items.compactMap(\.stringValue)
        default: return []
        }
    }
}
