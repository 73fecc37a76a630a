/// Runtime session ids (`X-Amzn-Bedrock-AgentCore-Runtime-Session-Id`).
public enum RuntimeSessionId {
    /// The contract's length bounds for ids a caller sends.
    public static let allowedLength = 33...256

    /// Whether `candidate` is an acceptable session id: 33–256 characters, starting with a letter or digit, then
    /// letters, digits, `-`, `_`, `.` or `:`. (SDKs send UUIDs; the narrow alphabet keeps ids safe in logs, paths
    /// and headers.)
    public static func isValid(_ candidate: some StringProtocol) -> Bool {
        let bytes = candidate.utf8
        guard allowedLength.contains(bytes.count), let first = bytes.first else { return false }
        guard AgentRuntimeIdentifier.isLetter(first) || AgentRuntimeIdentifier.isDigit(first) else { return false }
        return bytes.allSatisfy {
            AgentRuntimeIdentifier.isLetter($0) || AgentRuntimeIdentifier.isDigit($0) || $0 == UInt8(ascii: "-")
                || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: ":")
        }
    }

    /// A new session id: a random UUID (36 characters, within both the request and the response bounds).
    public static func generate() -> String {
        SecureRandom.uuid()
    }

    /// The id a call continues (validated) or, when it names none, a new one.
    /// - Throws: `ValidationException` naming `runtimeSessionId` for a malformed id.
    public static func validatedOrGenerated(_ requested: String?) throws(AgentCoreError) -> String {
        guard let requested else { return generate() }
        guard isValid(requested) else {
            throw AgentCoreError.invalidField(
                "runtimeSessionId",
                "Member must be 33-256 characters of letters, digits, '-', '_', '.' or ':', starting with a letter or digit"
            )
        }
        return requested
    }
}
