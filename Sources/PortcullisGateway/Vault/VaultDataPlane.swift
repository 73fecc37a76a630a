import Foundation
import HTTPTypes
import Logging
import PortcullisCore
import PortcullisIdentity
import PortcullisPolicy
import PortcullisStore
import PortcullisVault

/// The token vault's reads, for agents presenting their workload access token — through the gateway's listener,
/// or through the endpoint inside their sandbox. Every read is a Cedar decision with the workload as principal
/// (`Workload::"<name>"`, action `GetResourceApiKey`, resource `CredentialProvider::"<name>"`) and an audit record
/// that names the provider, never the secret.
struct VaultDataPlane: Sendable {
    /// Where a vault request came from.
    enum Origin: Sendable {
        /// The gateway's listener, from an authenticated caller.
        case gateway(callerId: String)
        /// The endpoint inside a sandbox of this runtime: only that runtime's own workload's tokens are accepted there.
        case sandbox(runtimeId: String)
    }

    let tokens: WorkloadAccessTokens
    let providers: CredentialProviders
    let oauth2: OAuth2Tokens
    let consent: ConsentFlow
    let advertisedURL: AdvertisedGatewayURL
    let workloads: any WorkloadIdentityStore
    let runtimes: any AgentRegistryStore
    let access: AccessPolicy
    let audit: AuditLog
    let clock: any WallClock
    let logger: Logger
    /// Workload identities (with their runtime's name) read in the last two seconds; the control plane of this
    /// process evicts what it changes.
    let workloadLookups: CredentialRecordCache<WorkloadLookup>

    /// A workload identity as the vault's reads need it.
    struct WorkloadLookup: Sendable {
        var identity: WorkloadIdentity
        var agentName: String?
    }

    /// GetResourceApiKey: `{workloadIdentityToken, resourceCredentialProviderName}` → `{apiKey}`.
    func resourceAPIKey(_ fields: RequestFields, origin: Origin, caller: AccessPolicy.Caller) async throws(AgentCoreError) -> JSONValue {
        let token = try fields.string("workloadIdentityToken", required: true, length: 1...131_072)!
        let providerName = try Self.providerName(fields)
        let workload = try await workload(presenting: token, origin: origin)
        do throws(AgentCoreError) {
            let record = try await authorizedProvider(.apiKey, providerName, workload: workload, action: .getResourceApiKey, scopes: [], caller: caller)
            let apiKey = try providers.secret(of: record)
            recordAccess(workload, provider: providerName, flow: "api_key", outcome: "success", caller: caller)
            return .object(["apiKey": .string(apiKey)])
        } catch {
            recordAccess(workload, provider: providerName, flow: "api_key", outcome: error.code == .accessDenied ? "denied" : "failure", caller: caller, error: error)
            throw error
        }
    }

    /// The workload a token names, checked against where it was presented.
    struct PresentedWorkload {
        var claims: WorkloadAccessTokenClaims
        var principal: Principal
        var runtimeId: String?
        var allowedReturnURLs: [String]
    }

    func workload(presenting token: String, origin: Origin) async throws(AgentCoreError) -> PresentedWorkload {
        let claims = try tokens.open(token, now: clock.now())
        if case .sandbox(let runtimeId) = origin, claims.workload != runtimeId {
            // A token from another agent (leaked, or passed along) does not work from this agent's sandbox.
            logger.warning("a sandbox presented another workload's access token", metadata: ["agent_runtime": "\(runtimeId)", "workload": "\(claims.workload)"])
            throw AgentCoreError(.accessDenied, "The workload access token does not belong to this agent")
        }
        let lookup: WorkloadLookup?
        do {
            lookup = try await workloadLookups.record(id: claims.workload, now: clock.now()) {
                guard let identity = try await workloads.workloadIdentity(name: claims.workload) else { return nil }
                var agentName: String?
                if let runtimeId = identity.runtimeId { agentName = try await runtimes.runtime(id: runtimeId)?.name }
                return WorkloadLookup(identity: identity, agentName: agentName)
            }
        } catch {
            logger.error("workload identity lookup failed", metadata: ["error": "\(error)"])
            throw AgentCoreError(.internalServer, "The token vault's store is unavailable")
        }
        guard let identity = lookup?.identity else {
            throw AgentCoreError(.unauthorized, "The workload identity of this access token no longer exists")
        }
        let agentName = lookup?.agentName
        return PresentedWorkload(
            claims: claims, principal: .workload(name: identity.name, agentName: agentName, user: claims.user), runtimeId: identity.runtimeId,
            allowedReturnURLs: identity.allowedReturnURLs
        )
    }

    /// The provider, once the policies allow the workload to read it. The decision comes first and names the
    /// provider whether or not it exists, so a workload that may not use a provider cannot learn whether it exists.
    func authorizedProvider(
        _ kind: CredentialProviderRecord.Kind, _ name: String, workload: PresentedWorkload, action: GatewayAction, scopes: [String],
        caller: AccessPolicy.Caller
    ) async throws(AgentCoreError) -> CredentialProviderRecord {
        let (resource, record) = try await providers.decisionSubject(kind, name)
        try access.require(workload.principal, action, on: resource, caller: caller, credential: CredentialRequest(provider: name, scopes: scopes))
        guard let record else { throw CredentialProviders.notFound(kind, name) }
        return record
    }

    func recordAccess(
        _ workload: PresentedWorkload, provider: String, flow: String, outcome: String, caller: AccessPolicy.Caller, error: AgentCoreError? = nil
    ) {
        var details: [String: JSONValue] = ["provider": .string(provider), "flow": .string(flow), "workload": .string(workload.claims.workload)]
        if let user = workload.claims.user { details["user"] = .string(user.displayName) }
        if let error { details["error"] = .string(error.code.rawValue) }
        audit.record(
            AuditEvent(
                time: clock.now(), kind: .vaultAccess, principal: workload.principal.id, agentRuntimeId: workload.runtimeId,
                action: flow == "api_key" ? "GetResourceApiKey" : flow == "consent" ? "CompleteResourceTokenAuth" : "GetResourceOauth2Token", outcome: outcome, requestId: caller.requestId,
                details: details
            )
        )
    }

    static func providerName(_ fields: RequestFields) throws(AgentCoreError) -> String {
        let name = try fields.string("resourceCredentialProviderName", required: true)!
        guard CredentialProviderRecord.isValidName(name) else {
            throw AgentCoreError.invalidField("resourceCredentialProviderName", "Member must satisfy regular expression pattern: [a-zA-Z0-9\\-_]+ (1-128 characters)")
        }
        return name
    }
}
