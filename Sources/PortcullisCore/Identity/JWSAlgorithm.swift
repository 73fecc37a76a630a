/// The JWS signature algorithms Portcullis verifies (RFC 7518 §3, RFC 8037). `none` is not among them, and names
/// are matched exactly: `NONE`, `hs256` or `RS256 ` are unknown algorithms, not variants.
public enum JWSAlgorithm: String, Sendable, CaseIterable, Codable {
    case hs256 = "HS256"
    case hs384 = "HS384"
    case hs512 = "HS512"
    case rs256 = "RS256"
    case rs384 = "RS384"
    case rs512 = "RS512"
    case ps256 = "PS256"
    case ps384 = "PS384"
    case ps512 = "PS512"
    case es256 = "ES256"
    case es384 = "ES384"
    case es512 = "ES512"
    case edDSA = "EdDSA"

    /// What an issuer accepts unless configured otherwise: the asymmetric algorithms IdPs sign with.
    public static let defaultAllowList: [JWSAlgorithm] = [.rs256, .es256, .ps256, .edDSA]

    /// Whether the algorithm uses a shared secret. Those keys never come from a remote key set.
    public var isSymmetric: Bool {
        switch self {
        case .hs256, .hs384, .hs512: true
        default: false
        }
    }
}
