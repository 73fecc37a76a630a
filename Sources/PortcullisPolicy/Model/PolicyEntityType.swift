public import Cedar

/// The Cedar entity types the gateway builds requests from; `policies/schema.cedarschema` declares the same.
public enum PolicyEntityType {
    /// An end user, from an access token: `User::"<iss>|<sub>"`.
    public static let user = EntityType("User")
    /// A group named in a token's groups claim: `Group::"<name>"`.
    public static let group = EntityType("Group")
    /// A token's tenant (Entra `tid`, or the issuer's tenant claim): `Tenant::"<id>"`.
    public static let tenant = EntityType("Tenant")
    /// A Portcullis API key: `ApiKey::"<key id>"`.
    public static let apiKey = EntityType("ApiKey")
    /// A SigV4 access key: `AccessKey::"<access key id>"`.
    public static let accessKey = EntityType("AccessKey")
    /// An agent's workload identity: `Workload::"<name>"`.
    public static let workload = EntityType("Workload")
    /// An agent runtime: `Agent::"<runtime name>"`.
    public static let agent = EntityType("Agent")
    /// A set of agents sharing a runtime tag: `AgentGroup::"<key>=<value>"`.
    public static let agentGroup = EntityType("AgentGroup")
    /// The gateway itself, parent of every agent and the resource of listing operations.
    public static let gateway = EntityType("Gateway")
    /// A token-vault credential provider: `CredentialProvider::"<name>"`.
    public static let credentialProvider = EntityType("CredentialProvider")
    public static let action = EntityType("Action")

    /// The one gateway entity.
    public static let gatewayUID = EntityUID(type: gateway, id: "portcullis")
}
