import Foundation
import Hummingbird
import PortcullisCore
import PortcullisPolicy
import PortcullisSessions

/// The console's agent pages: every runtime with its state and live sessions, and one runtime's versions and endpoints.
extension ConsoleController {
    static let agentsPerPage = 50

    @Sendable func agentsPage(_ viewer: Viewer, _ request: Request, _ context: GatewayRequestContext) async throws -> Content {
        try gate.authorize(viewer.principal, .listAgentRuntimes, .gateway, request, context)
        let after = try Self.runtimeId(Self.parameter(request, "after"), field: "after")
        let page = try await registry.list(after: after, limit: Self.agentsPerPage + 1)
        let live = Dictionary(grouping: sessions.liveSessions().values, by: \.record.runtimeId).mapValues(\.count)
        let rows = page.prefix(Self.agentsPerPage).map { runtime, version -> [ConsoleHTML.Cell] in
            [
                .link(runtime.name, to: "/console/agents/\(runtime.id)"),
                .code(runtime.id),
                .text(runtime.status.rawValue + (runtime.failureReason.map { ": \($0)" } ?? "")),
                .number(String(runtime.latestVersion)),
                .text(version.configuration.protocolConfiguration.serverProtocol.rawValue),
                .text(Self.describe(version.configuration.artifact)),
                live[runtime.id].map { .link(String($0), to: ConsoleHTML.path("/console/sessions", [("agentRuntimeId", runtime.id)])) } ?? .number("0"),
                .time(runtime.lastUpdatedAt),
            ]
        }
        var body = ConsoleHTML.table(
            ["Name", "Runtime id", "Status", "Version", "Protocol", "Artifact", "Active sessions", "Updated"], Array(rows),
            empty: "No agent runtimes yet: create one with CreateAgentRuntime or declare it under agents: in the configuration file."
        )
        if page.count > Self.agentsPerPage, let last = page.prefix(Self.agentsPerPage).last {
            body += "<p>" + ConsoleHTML.link("Next agents", to: ConsoleHTML.path("/console", [("after", last.0.id)])) + "</p>"
        }
        return Content(title: "Agents", body: body)
    }

    @Sendable func agentPage(_ viewer: Viewer, _ request: Request, _ context: GatewayRequestContext) async throws -> Content {
        let runtimeId = try Self.runtimeId(context.parameters.get("runtime", as: Substring.self).flatMap { PercentEncoding.decode($0) } ?? "") ?? ""
        try await gate.authorize(viewer.principal, .getAgentRuntime, runtimeId: runtimeId, request, context)
        let runtime = try await registry.runtime(id: runtimeId)
        var body = ConsoleHTML.facts([
            ("Runtime id", runtime.id),
            ("ARN", gate.names.runtimeARN(runtimeId: runtime.id)),
            ("Status", runtime.status.rawValue + (runtime.failureReason.map { ": \($0)" } ?? "")),
            ("Latest version", String(runtime.latestVersion)),
            ("Created", ConsoleHTML.time(runtime.createdAt)),
            ("Updated", ConsoleHTML.time(runtime.lastUpdatedAt)),
            ("Tags", runtime.tags.isEmpty ? "none" : runtime.tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")),
        ])
        body += "<p>" + ConsoleHTML.link("Sessions of this agent", to: ConsoleHTML.path("/console/sessions", [("agentRuntimeId", runtime.id)]))
            + " · " + ConsoleHTML.link("Its audit records", to: ConsoleHTML.path("/console/audit", [("agentRuntimeId", runtime.id)]))
            + " · " + ConsoleHTML.link("Test a call in the playground", to: ConsoleHTML.path("/console/playground", [("agent", runtime.id)])) + "</p>"

        try await gate.authorize(viewer.principal, .listAgentRuntimeVersions, runtimeId: runtimeId, request, context)
        let versions = try await registry.versions(of: runtime, before: nil, limit: 50)
        body += ConsoleHTML.heading("Versions")
        body += ConsoleHTML.table(
            ["Version", "Status", "Created", "Protocol", "Artifact", "Idle timeout", "Max lifetime", "Description"],
            versions.map { version in
                let lifecycle = version.configuration.lifecycle
                return [
                    .number(String(version.version)),
                    .text(version.status.rawValue + (version.failureReason.map { ": \($0)" } ?? "")),
                    .time(version.createdAt),
                    .text(version.configuration.protocolConfiguration.serverProtocol.rawValue),
                    .text(Self.describe(version.configuration.artifact)),
                    .number("\(lifecycle.idleRuntimeSessionTimeout) s"),
                    .number("\(lifecycle.maxLifetime) s"),
                    .text(version.configuration.description ?? ""),
                ]
            },
            empty: "No versions."
        )

        try await gate.authorize(viewer.principal, .listAgentRuntimeEndpoints, runtimeId: runtimeId, request, context)
        let endpoints = try await registry.endpoints(runtimeId: runtimeId, after: nil, limit: 50)
        body += ConsoleHTML.heading("Endpoints")
        body += ConsoleHTML.table(
            ["Name", "Live version", "Target version", "Status", "Updated"],
            endpoints.map { endpoint in
                [
                    .text(endpoint.name), .number(String(endpoint.liveVersion)), .number(String(endpoint.targetVersion)),
                    .text(endpoint.status.rawValue + (endpoint.failureReason.map { ": \($0)" } ?? "")), .time(endpoint.lastUpdatedAt),
                ]
            },
            empty: "No endpoints: calls reach the latest version (DEFAULT)."
        )
        return Content(title: "Agent \(runtime.name)", body: body)
    }

    /// Where a version's agent comes from, in a few words.
    static func describe(_ artifact: AgentRuntimeArtifact) -> String {
        switch artifact {
        case .endpoint(let url): "endpoint \(url)"
        case .code(let code): "code \(code.source.displayName) (\(code.runtime))"
        case .image(let image): "image \(image.uri)"
        }
    }
}
