import PortcullisCore

/// The runtime and endpoint an invocation names: the percent-encoded ARN (or runtime id) path segment plus the
/// `qualifier` and `accountId` query parameters.
struct InvocationTarget: Sendable, Equatable {
    var runtimeId: String
    var qualifier: String

    /// Parses the raw (still percent-encoded) path segment and query.
    /// - Throws: `ValidationException` for a malformed qualifier or account id, `ResourceNotFoundException` for a
    ///   target that is not a runtime of this gateway.
    init(rawSegment: Substring, query: QueryParameters, names: ResourceNames) throws(AgentCoreError) {
        guard let decoded = PercentEncoding.decode(rawSegment), !decoded.isEmpty, decoded.utf8.count <= 2048 else {
            throw AgentCoreError.invalidField("agentRuntimeArn", "Member must be a runtime ARN or id")
        }
        let accountId = query["accountId"]
        if let accountId, accountId.utf8.count != 12 || !accountId.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
            throw AgentCoreError.invalidField("accountId", "Member must satisfy regular expression pattern: [0-9]{12}")
        }
        guard let runtimeId = names.runtimeId(fromTarget: decoded, accountId: accountId) else {
            throw AgentCoreError.notFound("No agent runtime matches \(decoded.prefix(256))")
        }
        let qualifier = query["qualifier"] ?? AgentRuntimeEndpoint.defaultName
        guard AgentRuntimeIdentifier.isValidName(qualifier[...]) else {
            throw AgentCoreError.invalidField("qualifier", "Member must satisfy regular expression pattern: [a-zA-Z][a-zA-Z0-9_]{0,47}")
        }
        self.runtimeId = runtimeId
        self.qualifier = qualifier
    }
}
