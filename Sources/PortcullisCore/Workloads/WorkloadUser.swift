/// The end user a workload access token is bound to: a user proven by an access token (its issuer and subject), or
/// a user id a trusted caller named. The two never compare equal, so a caller naming the user id `iss|sub` cannot
/// stand in for the user who signed in with that token.
public enum WorkloadUser: Sendable, Hashable {
    /// From a validated JWT (`GetWorkloadAccessTokenForJWT`, or an invocation with a bearer token).
    case token(issuer: String, subject: String)
    /// As named by the caller (`GetWorkloadAccessTokenForUserId`, or `X-Amzn-Bedrock-AgentCore-Runtime-User-Id`).
    case id(String)

    /// The stable key vault records are stored under: `jwt:<iss>|<sub>` or `id:<user id>`.
    public var key: String {
        switch self {
        case .token(let issuer, let subject): "jwt:\(issuer)|\(subject)"
        case .id(let id): "id:\(id)"
        }
    }

    /// Parses ``key``.
    public init?(key: String) {
        if key.hasPrefix("id:") {
            let id = String(key.dropFirst(3))
            guard !id.isEmpty else { return nil }
            self = .id(id)
        } else if key.hasPrefix("jwt:"), let bar = key.lastIndex(of: "|") {
            let issuer = String(key[key.index(key.startIndex, offsetBy: 4)..<bar])
            let subject = String(key[key.index(after: bar)...])
            guard !issuer.isEmpty, !subject.isEmpty else { return nil }
            self = .token(issuer: issuer, subject: subject)
        } else {
            return nil
        }
    }

    /// What a person reads in logs, audit records and policies: `<iss>|<sub>` or the user id.
    public var displayName: String {
        switch self {
        case .token(let issuer, let subject): "\(issuer)|\(subject)"
        case .id(let id): id
        }
    }
}
