import Cedar
import Foundation
import PortcullisCore
import Testing
@testable import PortcullisPolicy

/// The set in `policies/`: an administrator-only control plane, keys limited to their agents, users limited to
/// the agents granted to their groups or admitted by the runtime's authorizer.
@Suite("The shipped default policies")
struct DefaultPolicyTests {
    let engine: PolicyEngine

    init() throws {
        engine = try PolicyFixtures.engine()
    }

    private func allows(_ request: AuthorizationRequest) -> Bool { engine.authorize(request).isAllowed }

    @Test("the shipped files compile and validate against the shipped schema")
    func shippedSetValidates() throws {
        let bundle = engine.current
        #expect(bundle.schema != nil)
        #expect(bundle.policies.policies.map(\.id.rawValue).sorted() == [
            "access-keys-use-their-agents", "administrators-confirm-consents", "administrators-mint-workload-tokens", "administrators-use-the-control-plane",
            "agents-use-credentials-granted-to-them", "api-keys-use-their-agents", "user-delegates-mint-workload-tokens-for-access-keys",
            "user-delegates-mint-workload-tokens-for-api-keys", "users-use-agents-granted-to-their-groups",
            "users-use-agents-whose-authorizer-admits-them", "workloads-use-credentials-granted-to-them",
        ])
        #expect(bundle.location(of: "administrators-use-the-control-plane") == "administrators.cedar:3:1")
        #expect(bundle.text(of: "administrators-use-the-control-plane")?.hasSuffix("when { principal.administrator };") == true)
    }

    @Test("only administrators use the control plane")
    func controlPlane() {
        let admin = PolicyFixtures.apiKey("k1", agents: .all, admin: true)
        let plain = PolicyFixtures.apiKey("k2", agents: .all)
        for action in GatewayAction.allCases where action.isAdministrative {
            let resource: PolicyResource = action == .listAgentRuntimes ? .gateway : PolicyFixtures.agent("support")
            #expect(allows(PolicyFixtures.request(admin, action, resource)), "\(action)")
            #expect(!allows(PolicyFixtures.request(plain, action, resource)), "\(action)")
        }
        #expect(allows(PolicyFixtures.request(PolicyFixtures.user("root", admin: true), .deleteAgentRuntime, PolicyFixtures.agent("x"))))
        #expect(!allows(PolicyFixtures.request(PolicyFixtures.user("ann", groups: ["admins"]), .deleteAgentRuntime, PolicyFixtures.agent("x"))))
        let decision = engine.authorize(PolicyFixtures.request(admin, .createAgentRuntime, PolicyFixtures.agent("new")))
        #expect(decision.determiningPolicies == ["administrators-use-the-control-plane"])
        // An administrator is not thereby an agent user: a key scoped to one agent stays scoped.
        let scopedAdmin = PolicyFixtures.accessKey("AK1", agents: .named(["billing"]), admin: true)
        #expect(!allows(PolicyFixtures.request(scopedAdmin, .invokeAgent, PolicyFixtures.agent("support"))))
    }

    @Test("keys use exactly the agents they were created for")
    func keysAndTheirAgents() {
        let scoped = PolicyFixtures.apiKey("k3", agents: .named(["support"]))
        #expect(allows(PolicyFixtures.request(scoped, .invokeAgent, PolicyFixtures.agent("support"))))
        #expect(allows(PolicyFixtures.request(scoped, .stopSession, PolicyFixtures.agent("support"))))
        #expect(!allows(PolicyFixtures.request(scoped, .invokeAgent, PolicyFixtures.agent("billing"))))
        let everything = PolicyFixtures.accessKey("AK2", agents: .all)
        #expect(allows(PolicyFixtures.request(everything, .streamAgent, PolicyFixtures.agent("billing"))))
        let decision = engine.authorize(PolicyFixtures.request(everything, .streamAgent, PolicyFixtures.agent("billing")))
        #expect(decision.determiningPolicies == ["access-keys-use-their-agents"])
    }

    @Test("users use agents granted to one of their groups, or admitted by the runtime's authorizer")
    func usersAndGroups() {
        let granted = PolicyFixtures.agent("support", tags: ["portcullis:groups": "support-team engineering"])
        let engineer = PolicyFixtures.user("eve", groups: ["engineering"])
        let sales = PolicyFixtures.user("sam", groups: ["sales"])
        #expect(allows(PolicyFixtures.request(engineer, .invokeAgent, granted)))
        #expect(!allows(PolicyFixtures.request(sales, .invokeAgent, granted)))
        #expect(!allows(PolicyFixtures.request(engineer, .invokeAgent, PolicyFixtures.agent("support"))))
        let jwtRuntime = PolicyFixtures.agent("assistant", jwt: true)
        let decision = engine.authorize(PolicyFixtures.request(sales, .invokeAgent, jwtRuntime))
        #expect(decision.isAllowed)
        #expect(decision.determiningPolicies == ["users-use-agents-whose-authorizer-admits-them"])
        // Users never reach the token vault's actions through these policies.
        #expect(!allows(PolicyFixtures.request(engineer, .getResourceOauth2Token, .credentialProvider(CredentialProviderFacts(name: "slack", kind: "oauth2")))))
    }

    @Test("agents read the credentials whose tags grant them; workload tokens are minted by administrators and user delegates")
    func vault() {
        let granted = PolicyResource.credentialProvider(
            CredentialProviderFacts(name: "github", kind: "oauth2", vendor: "GithubOauth2", tags: ["portcullis:agents": "triage support"])
        )
        let everyone = PolicyResource.credentialProvider(CredentialProviderFacts(name: "search", kind: "api_key", tags: ["portcullis:agents": "*"]))
        let byWorkload = PolicyResource.credentialProvider(CredentialProviderFacts(name: "dev", kind: "api_key", tags: ["portcullis:workloads": "workload-1a2b"]))
        let ungranted = PolicyResource.credentialProvider(CredentialProviderFacts(name: "payroll", kind: "api_key"))
        let support = Principal.workload(name: "support-AbCdEf1234", agentName: "support", user: .id("u1"))
        let billing = Principal.workload(name: "billing-AbCdEf1234", agentName: "billing", user: nil)
        let standalone = Principal.workload(name: "workload-1a2b", agentName: nil, user: .id("u2"))
        #expect(allows(PolicyFixtures.request(support, .getResourceOauth2Token, granted)))
        #expect(!allows(PolicyFixtures.request(billing, .getResourceOauth2Token, granted)))
        #expect(allows(PolicyFixtures.request(billing, .getResourceApiKey, everyone)))
        #expect(!allows(PolicyFixtures.request(standalone, .getResourceApiKey, granted)))
        #expect(allows(PolicyFixtures.request(standalone, .getResourceApiKey, byWorkload)))
        #expect(!allows(PolicyFixtures.request(support, .getResourceApiKey, byWorkload)))
        for workload in [support, billing, standalone] {
            #expect(!allows(PolicyFixtures.request(workload, .getResourceApiKey, ungranted)))
        }
        let decision = engine.authorize(PolicyFixtures.request(support, .getResourceOauth2Token, granted))
        #expect(decision.determiningPolicies == ["agents-use-credentials-granted-to-them"])

        let workload = PolicyResource.workload(WorkloadFacts(name: "workload-1a2b"))
        let admin = PolicyFixtures.apiKey("k1", agents: .all, admin: true)
        let plain = PolicyFixtures.apiKey("k2", agents: .all)
        var delegate = PolicyFixtures.accessKey("AK3", agents: .all)
        delegate.mayActForUsers = true
        #expect(allows(PolicyFixtures.request(admin, .getWorkloadAccessToken, workload)))
        #expect(allows(PolicyFixtures.request(admin, .getWorkloadAccessTokenForJWT, workload)))
        #expect(!allows(PolicyFixtures.request(admin, .getWorkloadAccessTokenForUserId, workload)), "naming a user needs --act-for-users")
        #expect(allows(PolicyFixtures.request(delegate, .getWorkloadAccessTokenForUserId, workload)))
        #expect(!allows(PolicyFixtures.request(delegate, .getWorkloadAccessToken, workload)))
        #expect(allows(PolicyFixtures.request(admin, .completeResourceTokenAuth, workload)))
        #expect(allows(PolicyFixtures.request(delegate, .completeResourceTokenAuth, workload)))
        for action in [GatewayAction.getWorkloadAccessToken, .getWorkloadAccessTokenForJWT, .getWorkloadAccessTokenForUserId, .completeResourceTokenAuth] {
            #expect(!allows(PolicyFixtures.request(plain, action, workload)))
            #expect(!allows(PolicyFixtures.request(PolicyFixtures.user("eve"), action, workload)))
        }
    }

    @Test("a recorded decision evaluates again to the same answer from its JSON")
    func recordedDecisionReplays() throws {
        let request = PolicyFixtures.request(
            PolicyFixtures.user("eve", groups: ["engineering"], claims: ["department": .string("R&D"), "level": .number(3)]),
            .invokeAgent, PolicyFixtures.agent("support", tags: ["portcullis:groups": "engineering", "team": "support"])
        )
        let decision = engine.authorize(request)
        #expect(decision.isAllowed)
        let replayed = try PolicyEngine.decide(requestJSON: decision.requestJSON, entitiesJSON: decision.entitiesJSON, with: engine.current)
        #expect(replayed.isAllowed)
        #expect(replayed.determiningPolicies == decision.determiningPolicies)
        #expect(replayed.request == decision.request)
        #expect(decision.entitiesJSON.contains(#""department":"R&D""#))
        #expect(decision.entitiesJSON.contains(#""level":"3""#))
        #expect(!decision.entitiesJSON.contains(#""Action""#), "action entities are the same for every request and not recorded")
    }
}
