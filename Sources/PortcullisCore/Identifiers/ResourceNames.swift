/// Where a gateway's resources live in ARN terms: the partition, region and account it reports.
///
/// AgentCore clients parse ARNs (the SDK's WebSocket helpers check all six parts), so the gateway emits real-format
/// ARNs for a configured region and account rather than inventing its own scheme.
public struct ResourceNames: Sendable, Equatable {
    public var partition: String
    public var region: String
    public var accountId: String

    public init(partition: String = "aws", region: String, accountId: String) {
        self.partition = partition
        self.region = region
        self.accountId = accountId
    }

    /// `arn:aws:bedrock-agentcore:<region>:<account>:runtime/<runtimeId>`
    public func runtimeARN(runtimeId: String) -> String {
        "arn:\(partition):bedrock-agentcore:\(region):\(accountId):runtime/\(runtimeId)"
    }

    /// `arn:aws:bedrock-agentcore:<region>:<account>:runtime/<runtimeId>/runtime-endpoint/<name>`
    public func runtimeEndpointARN(runtimeId: String, endpointName: String) -> String {
        "\(runtimeARN(runtimeId: runtimeId))/runtime-endpoint/\(endpointName)"
    }

    /// `arn:aws:bedrock-agentcore:<region>:<account>:workload-identity-directory/default/workload-identity/<name>`
    public func workloadIdentityARN(name: String) -> String {
        "arn:\(partition):bedrock-agentcore:\(region):\(accountId):workload-identity-directory/default/workload-identity/\(name)"
    }

    /// `arn:aws:bedrock-agentcore:<region>:<account>:token-vault/default/<apikey|oauth2>credentialprovider/<name>`
    public func credentialProviderARN(kind: CredentialProviderRecord.Kind, name: String) -> String {
        "arn:\(partition):bedrock-agentcore:\(region):\(accountId):token-vault/default/\(kind == .apiKey ? "apikey" : "oauth2")credentialprovider/\(name)"
    }

    /// Where AgentCore keeps a provider's secret (a Secrets Manager ARN); here the secret is in the store, sealed, and
    /// the ARN only names it: `arn:aws:secretsmanager:<region>:<account>:secret:bedrock-agentcore-identity!default/<kind>/<name>-<6 of the id>`.
    public func credentialSecretARN(_ record: CredentialProviderRecord) -> String {
        let kind = record.kind == .apiKey ? "apikey" : "oauth2"
        return "arn:\(partition):secretsmanager:\(region):\(accountId):secret:bedrock-agentcore-identity!default/\(kind)/\(record.name)-\(record.id.prefix(6))"
    }

    /// `arn:aws:bedrock-agentcore:<region>:<account>:token-vault/default`
    public var tokenVaultARN: String { "arn:\(partition):bedrock-agentcore:\(region):\(accountId):token-vault/default" }

    /// The runtime id named by an invocation target: a full runtime ARN of this gateway, or a bare runtime id
    /// (then `accountId`, when given, must be this gateway's account).
    ///
    /// Returns `nil` for anything that is not one of those, including ARNs of another region, account or service,
    /// so a caller cannot probe for resources elsewhere.
    public func runtimeId(fromTarget target: String, accountId requestedAccount: String?) -> String? {
        if target.hasPrefix("arn:") {
            let parts = target.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
            guard parts.count == 6,
                parts[1] == partition,
                parts[2] == "bedrock-agentcore",
                parts[3] == region,
                parts[4] == accountId,
                parts[5].hasPrefix("runtime/")
            else { return nil }
            let id = parts[5].dropFirst("runtime/".count)
            guard AgentRuntimeIdentifier.isValidRuntimeId(id) else { return nil }
            if let requestedAccount, requestedAccount != accountId { return nil }
            return String(id)
        }
        guard AgentRuntimeIdentifier.isValidRuntimeId(target[...]) else { return nil }
        if let requestedAccount, requestedAccount != accountId { return nil }
        return target
    }
}
