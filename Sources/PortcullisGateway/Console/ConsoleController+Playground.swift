import Cedar
import Foundation
import Hummingbird
import PortcullisCore
import PortcullisIdentity
import PortcullisPolicy
import PortcullisStore

/// The policy playground: "would this principal be allowed to call this agent or tool?" answered by the set in
/// force, with the policies that decided. The question is only asked, not logged as a decision: nothing is called.
extension ConsoleController {
    /// What a caller does with an agent; the playground asks about these.
    static let playgroundActions: [GatewayAction] = [.invokeAgent, .callTool, .streamAgent, .stopSession]

    struct PlaygroundQuestion {
        enum Who: String { case user, apikey }
        var who: Who
        var issuer: String?
        var subject: String?
        var groups: [String]
        var apiKeyId: String?
        var action: GatewayAction
        var runtimeId: String?
        var tool: String?
        var sourceIp: String?
    }

    @Sendable func playgroundPage(_ viewer: Viewer, _ request: Request, _ context: GatewayRequestContext) async throws -> Content {
        try gate.authorize(viewer.principal, .testPolicy, .gateway, request, context)
        let question = try Self.question(request)
        let agents = try await registry.list(after: nil, limit: 200)
        let signInIssuers = issuers.issuers.map(\.name)
        var body = ConsoleHTML.getForm(
            action: "/console/playground",
            controls: [
                ConsoleHTML.select("Principal", name: "who", options: [("user", "a user of an issuer"), ("apikey", "an API key")], selected: question.who.rawValue),
                ConsoleHTML.select("Issuer", name: "issuer", options: signInIssuers.map { ($0, $0) }, selected: question.issuer),
                ConsoleHTML.textInput("Subject (sub)", name: "subject", value: question.subject, width: 18),
                ConsoleHTML.textInput("Groups", name: "groups", value: question.groups.joined(separator: " "), placeholder: "space-separated", width: 22),
                ConsoleHTML.textInput("or API key id", name: "apiKeyId", value: question.apiKeyId, width: 16),
                ConsoleHTML.select("Action", name: "action", options: Self.playgroundActions.map { ($0.rawValue, $0.rawValue) }, selected: question.action.rawValue),
                ConsoleHTML.select("Agent", name: "agent", options: agents.map { ($0.0.id, $0.0.name) }, selected: question.runtimeId),
                ConsoleHTML.textInput("MCP tool", name: "tool", value: question.tool, width: 14),
                ConsoleHTML.textInput("Source IP", name: "sourceIp", value: question.sourceIp, placeholder: "10.0.0.1", width: 12),
            ],
            submit: "Would this be allowed?"
        )
        if request.uri.queryParameters["action"] != nil {
            body += try await answer(question)
        } else {
            body += ConsoleHTML.paragraph(
                "Choose a principal, an action and an agent. A user's claims, scopes and audiences are empty here; its administrator flag "
                    + "follows the issuer's administrators rule.", muted: true
            )
        }
        return Content(title: "Policy playground", body: body)
    }

    private static func question(_ request: Request) throws(AgentCoreError) -> PlaygroundQuestion {
        let who = try parameter(request, "who").map { text throws(AgentCoreError) -> PlaygroundQuestion.Who in
            guard let who = PlaygroundQuestion.Who(rawValue: text) else { throw AgentCoreError.invalidField("who", "Member must satisfy enum value set: [user, apikey]") }
            return who
        } ?? .user
        let action = try parameter(request, "action").map { text throws(AgentCoreError) -> GatewayAction in
            guard let action = GatewayAction(rawValue: text), playgroundActions.contains(action) else {
                throw AgentCoreError.invalidField("action", "Member must satisfy enum value set: [\(playgroundActions.map(\.rawValue).joined(separator: ", "))]")
            }
            return action
        } ?? .invokeAgent
        let groups = try parameter(request, "groups", maxBytes: 4096)?
            .split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\n" || $0 == "\t" }).map(String.init) ?? []
        guard groups.count <= 200 else { throw AgentCoreError.invalidField("groups", "Member must have at most 200 groups") }
        let sourceIp = try parameter(request, "sourceIp", maxBytes: 64)
        if let sourceIp, IPAddress(parsing: sourceIp) == nil {
            throw AgentCoreError.invalidField("sourceIp", "Member must be an IPv4 or IPv6 address")
        }
        return PlaygroundQuestion(
            who: who, issuer: try parameter(request, "issuer"), subject: try parameter(request, "subject"), groups: groups,
            apiKeyId: try parameter(request, "apiKeyId", maxBytes: 128), action: action, runtimeId: try runtimeId(parameter(request, "agent"), field: "agent"),
            tool: try parameter(request, "tool", maxBytes: 256), sourceIp: sourceIp
        )
    }

    private func answer(_ question: PlaygroundQuestion) async throws -> String {
        let (principal, caveat) = try await principal(for: question)
        guard let runtimeId = question.runtimeId else { throw AgentCoreError.invalidField("agent", "Choose an agent") }
        guard let facts = await gate.agentFacts(runtimeId: runtimeId) else { throw AgentCoreError.notFound("Agent runtime \(runtimeId) was not found") }
        if question.action == .callTool, question.tool == nil { throw AgentCoreError.invalidField("tool", "CallTool needs the MCP tool's name") }
        let bundle = policies.engine.current
        let decision = PolicyEngine.decide(
            AuthorizationRequest(
                principal: principal, action: question.action, resource: .agent(facts),
                context: RequestConditions(sourceAddress: question.sourceIp, time: clock.now(), mcp: question.tool.map { MCPCall(method: "tools/call", tool: $0) })
            ),
            with: bundle
        )
        var html = ConsoleHTML.heading("Answer")
        let verdict = decision.isAllowed ? "Allowed" : "Denied"
        html += ConsoleHTML.paragraph(
            "\(verdict): \(principal.displayName) (\(principal.id)) \(question.action.rawValue) on \(facts.name)"
                + (question.tool.map { ", tool \($0)" } ?? ""),
            className: decision.isAllowed ? "allowed" : "denied"
        )
        if let caveat { html += ConsoleHTML.paragraph(caveat, className: "problem") }
        if decision.determiningPolicies.isEmpty {
            html += ConsoleHTML.paragraph("No policy permits this: denied by default.")
        } else {
            html += ConsoleHTML.paragraph(
                decision.deniedByFailedForbid
                    ? "A forbid could not be evaluated, so the request is denied (guardrails fail closed):"
                    : decision.isAllowed ? "Permitted by:" : "Forbidden by:"
            )
            html += ConsoleHTML.table(
                ["Policy", "Written at", "Text"],
                decision.determiningPolicies.map { id in
                    [.code(id), .code(bundle.location(of: PolicyID(id)) ?? ""), .code(Self.oneLine(bundle.text(of: PolicyID(id)) ?? ""))]
                },
                empty: ""
            )
        }
        if !decision.errors.isEmpty {
            html += ConsoleHTML.paragraph("Policies that failed to evaluate (skipped):")
            html += "<ul>" + decision.errors.map { "<li>\(HTMLPage.escape($0))</li>" }.joined() + "</ul>"
        }
        html += ConsoleHTML.paragraph("Decided by the policy set \(decision.policySetDigest).", muted: true)
        return html
    }

    /// The principal a question names, as authentication would produce it, and what would stop it earlier.
    private func principal(for question: PlaygroundQuestion) async throws -> (Principal, String?) {
        switch question.who {
        case .user:
            guard let name = question.issuer, let issuer = issuers.issuer(named: name) else {
                throw AgentCoreError.invalidField("issuer", "Choose one of the gateway's issuers")
            }
            guard let subject = question.subject else { throw AgentCoreError.invalidField("subject", "A user needs a subject (the sub claim)") }
            let canonical = issuer.metadata?.issuer ?? issuer.configuration.issuer ?? issuer.name
            let principal = Principal(
                method: .jwt, id: "\(canonical)|\(subject)", displayName: subject, issuer: canonical, issuerName: issuer.name, subject: subject,
                groups: question.groups, agentScope: .all,
                isAdministrator: issuer.configuration.administrators?.admits(subject: subject, groups: question.groups) ?? false
            )
            return (principal, nil)
        case .apikey:
            guard let id = question.apiKeyId else { throw AgentCoreError.invalidField("apiKeyId", "Give the API key's id") }
            guard let record = try await apiKeys.apiKey(id: id) else { throw AgentCoreError.notFound("API key \(id) was not found") }
            var caveat: String?
            if record.revokedAt != nil {
                caveat = "This key is revoked: its calls fail authentication before any policy is asked."
            } else if let expiresAt = record.expiresAt, expiresAt <= clock.now() {
                caveat = "This key has expired: its calls fail authentication before any policy is asked."
            }
            return (APIKeyAuthenticator.principal(for: record), caveat)
        }
    }
}
