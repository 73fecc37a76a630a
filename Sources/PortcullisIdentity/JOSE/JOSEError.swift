/// Why a JWS or a key was refused. The code is stable (metrics, tests); the detail is for logs and never contains
/// a token, a signature or key material.
public struct JOSEError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// Not a compact JWS: wrong number of parts, bad base64url, not a JSON object, duplicate members.
        case malformed = "malformed"
        /// Larger than the configured limit.
        case tooLarge = "too_large"
        /// `alg` is missing, `none`, or not one Portcullis verifies.
        case unsupportedAlgorithm = "unsupported_algorithm"
        /// A header the gateway never honours: embedded keys or key URLs, `b64`, JWE members, nested tokens.
        case forbiddenHeader = "forbidden_header"
        /// `crit` names an extension the gateway does not implement.
        case unsupportedCritical = "unsupported_critical"
        /// No key with the token's `kid`, or the token has none.
        case unknownKey = "unknown_key"
        /// The token's `alg` is not the algorithm its key is pinned to.
        case algorithmMismatch = "algorithm_mismatch"
        /// The signature does not verify.
        case invalidSignature = "invalid_signature"
        /// A key that cannot be used for verification (a key-set entry that is skipped).
        case unusableKey = "unusable_key"
    }

    public var code: Code
    public var detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "\(code.rawValue): \(detail)" }
}
