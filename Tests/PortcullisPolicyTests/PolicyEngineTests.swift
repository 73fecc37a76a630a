import Cedar
import Foundation
import PortcullisCore
import Testing
@testable import PortcullisPolicy

@Suite("Decisions with admin-written policies")
struct PolicyEngineTests {
    @Test("a forbid overrides a permit, and the forbid is the reason")
    func forbidOverridesPermit() throws {
        let engine = try PolicyFixtures.engine([
            "lockdown.cedar": """
                @id("no-contractors-on-billing")
                forbid (principal in Group::"contractors", action in Action::"UseAgent", resource == Agent::"billing");
                """,
        ])
        let billing = PolicyFixtures.agent("billing", tags: ["portcullis:groups": "finance contractors"])
        let contractor = PolicyFixtures.user("carl", groups: ["finance", "contractors"])
        let decision = engine.authorize(PolicyFixtures.request(contractor, .invokeAgent, billing))
        #expect(!decision.isAllowed)
        #expect(decision.determiningPolicies == ["no-contractors-on-billing"])
        let accountant = engine.authorize(PolicyFixtures.request(PolicyFixtures.user("ada", groups: ["finance"]), .invokeAgent, billing))
        #expect(accountant.isAllowed)
        #expect(accountant.determiningPolicies == ["users-use-agents-granted-to-their-groups"])
    }

    @Test("an MCP tool is allowed for one group and denied for another")
    func mcpToolPerGroup() throws {
        let engine = try PolicyFixtures.engine([
            "tools.cedar": """
                @id("sre-deploys")
                permit (principal in Group::"sre", action == Action::"CallTool", resource == Agent::"ops")
                when { context has mcp && context.mcp has tool && context.mcp.tool == "deploy" };

                @id("only-sre-deploys")
                forbid (principal, action == Action::"CallTool", resource == Agent::"ops")
                when { context has mcp && context.mcp has tool && context.mcp.tool == "deploy" }
                unless { principal in Group::"sre" };
                """,
        ])
        let ops = PolicyFixtures.agent("ops", tags: ["portcullis:groups": "sre developers"], serverProtocol: "MCP")
        let deploy = MCPCall(method: "tools/call", tool: "deploy")
        let sre = PolicyFixtures.user("sue", groups: ["sre"])
        let developer = PolicyFixtures.user("dev", groups: ["developers"])
        #expect(engine.authorize(PolicyFixtures.request(sre, .callTool, ops, mcp: deploy)).isAllowed)
        let denied = engine.authorize(PolicyFixtures.request(developer, .callTool, ops, mcp: deploy))
        #expect(!denied.isAllowed)
        #expect(denied.determiningPolicies == ["only-sre-deploys"])
        // The developers' group grant (UseAgent) still covers their other tools.
        #expect(engine.authorize(PolicyFixtures.request(developer, .callTool, ops, mcp: MCPCall(method: "tools/call", tool: "logs"))).isAllowed)
        #expect(engine.authorize(PolicyFixtures.request(developer, .invokeAgent, ops, mcp: MCPCall(method: "tools/list"))).isAllowed)
    }

    @Test("context conditions on time and source address")
    func timeAndAddress() throws {
        let engine = try PolicyFixtures.engine([
            "hours.cedar": """
                @id("finance-office-hours")
                forbid (principal, action in Action::"UseAgent", resource == Agent::"finance")
                unless { context.time.toTime() >= duration("8h") && context.time.toTime() < duration("18h")
                         && context has sourceIp && context.sourceIp.isInRange(ip("10.0.0.0/8")) };
                """,
        ])
        let finance = PolicyFixtures.agent("finance", tags: ["portcullis:groups": "finance"])
        let ada = PolicyFixtures.user("ada", groups: ["finance"])
        #expect(engine.authorize(PolicyFixtures.request(ada, .invokeAgent, finance)).isAllowed)
        let night = PolicyFixtures.noon.addingTimeInterval(11 * 3600)
        #expect(!engine.authorize(PolicyFixtures.request(ada, .invokeAgent, finance, at: night)).isAllowed)
        #expect(!engine.authorize(PolicyFixtures.request(ada, .invokeAgent, finance, from: "192.0.2.7")).isAllowed)
        #expect(engine.authorize(PolicyFixtures.request(ada, .invokeAgent, finance, from: "::ffff:10.9.9.9")).isAllowed, "IPv4-mapped addresses are IPv4")
        #expect(!engine.authorize(PolicyFixtures.request(ada, .invokeAgent, finance, from: nil)).isAllowed)
    }

    @Test("a forbid that fails to evaluate denies instead of being skipped")
    func failedForbidFailsClosed() throws {
        // Without a schema (which would reject it), a forbid reading a header that is absent errors at runtime.
        let engine = try PolicyFixtures.engine([
            "open.cedar": #"@id("open") permit (principal, action, resource);"#,
            "guard.cedar": #"""
                @id("tenant-guard")
                forbid (principal, action, resource) unless { context.headers["x-amzn-bedrock-agentcore-runtime-custom-tenant"] == "acme" };
                """#,
        ], withShipped: false)
        let user = PolicyFixtures.user("eve")
        let missing = engine.authorize(PolicyFixtures.request(user, .invokeAgent, PolicyFixtures.agent("a")))
        #expect(!missing.isAllowed)
        #expect(missing.deniedByFailedForbid)
        #expect(missing.determiningPolicies == ["tenant-guard"])
        #expect(missing.errors.count == 1)
        let present = engine.authorize(PolicyFixtures.request(
            user, .invokeAgent, PolicyFixtures.agent("a"), headers: ["x-amzn-bedrock-agentcore-runtime-custom-tenant": "acme"]
        ))
        #expect(present.isAllowed)
        #expect(present.determiningPolicies == ["open"])
        #expect(!present.deniedByFailedForbid)
    }

    @Test("claims as tags, tenants and tag-derived agent groups are there for policies")
    func claimsTenantsAndAgentGroups() throws {
        let engine = try PolicyFixtures.engine([
            "acme.cedar": """
                @id("acme-research")
                permit (principal in Tenant::"acme", action == Action::"InvokeAgent", resource in AgentGroup::"team=research")
                when { principal.hasTag("department") && principal.getTag("department") == "R&D" && resource.hasTag("team") && resource.getTag("team") == "research" };
                """,
        ])
        var researcher = PolicyFixtures.user("rita", claims: ["department": .string("R&D")])
        researcher.tenant = "acme"
        let lab = PolicyFixtures.agent("lab", tags: ["team": "research"])
        #expect(engine.authorize(PolicyFixtures.request(researcher, .invokeAgent, lab)).isAllowed)
        #expect(!engine.authorize(PolicyFixtures.request(researcher, .streamAgent, lab)).isAllowed)
        var outsider = researcher
        outsider.tenant = "globex"
        #expect(!engine.authorize(PolicyFixtures.request(outsider, .invokeAgent, lab)).isAllowed)
        let sales = PolicyFixtures.user("rita", claims: ["department": .string("Sales")])
        #expect(!engine.authorize(PolicyFixtures.request(sales, .invokeAgent, lab)).isAllowed)
    }
}
