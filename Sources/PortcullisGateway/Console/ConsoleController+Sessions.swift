import Foundation
import HTTPTypes
import Hummingbird
import PortcullisCore
import PortcullisPolicy
import PortcullisSessions
import PortcullisStore

/// The console's sessions page: sandboxed sessions running now with their usage so far and a stop button, and the
/// latest ended ones with why they ended. It reloads itself every few seconds.
extension ConsoleController {
    static let sessionsRefreshSeconds = 5
    static let endedSessionsShown = 25

    @Sendable func sessionsPage(_ viewer: Viewer, _ request: Request, _ context: GatewayRequestContext) async throws -> Content {
        try gate.authorize(viewer.principal, .listSessions, .gateway, request, context)
        let runtimeId = try Self.runtimeId(Self.parameter(request, "agentRuntimeId"))
        let owner = try Self.parameter(request, "principal")
        var body = ConsoleHTML.getForm(
            action: "/console/sessions",
            controls: [
                ConsoleHTML.textInput("Agent runtime id", name: "agentRuntimeId", value: runtimeId, width: 24),
                ConsoleHTML.textInput("Principal", name: "principal", value: owner, width: 32),
            ],
            submit: "Filter"
        )
        if let stopped = try Self.parameter(request, "stopped"), RuntimeSessionId.isValid(stopped) {
            body += ConsoleHTML.paragraph("Session \(stopped) was stopped.", className: "allowed")
        }
        if let unavailable = sandboxesUnavailable {
            body += ConsoleHTML.paragraph("Agents deployed as code cannot run on this gateway: \(unavailable)", className: "problem")
        }

        let active = sessions.liveSessions().values
            .filter { runtimeId == nil || $0.record.runtimeId == runtimeId }
            .filter { owner == nil || $0.record.ownerId == owner }
            .sorted { $0.record.startedAt > $1.record.startedAt }
        body += ConsoleHTML.heading("Active (\(active.count))")
        body += ConsoleHTML.table(
            ["", "Agent", "Session", "Principal", "Version", "Driver", "Started", "Last call", "In flight", "CPU s", "Memory GB·s", "Peak memory",
             "Calls", "Bytes in", "Bytes out"],
            active.map { session in
                let record = session.record
                return [
                    .button("Stop", posting: [("agentRuntimeId", record.runtimeId), ("runtimeSessionId", record.sessionId)],
                            to: "/console/sessions/stop", token: viewer.formToken),
                    .link(record.runtimeId, to: "/console/agents/\(record.runtimeId)"),
                    .code(record.sessionId),
                    .text(record.ownerId),
                    .number(String(record.version)),
                    .text(record.driver),
                    .time(record.startedAt),
                    .time(session.lastActivity),
                    .number(String(session.inFlight)),
                ] + Self.usageCells(record.usage)
            },
            empty: "No session is running."
        )

        let ended = try await sessionRecords.sessions(
            SessionQuery(runtimeId: runtimeId, ownerId: owner, state: .ended, limit: Self.endedSessionsShown)
        )
        body += ConsoleHTML.heading("Recently ended")
        body += ConsoleHTML.table(
            ["Agent", "Session", "Principal", "Version", "Started", "Ended", "Reason", "CPU s", "Memory GB·s", "Peak memory", "Calls", "Bytes in", "Bytes out"],
            ended.map { record in
                [
                    .link(record.runtimeId, to: "/console/agents/\(record.runtimeId)"),
                    .code(record.sessionId),
                    .text(record.ownerId),
                    .number(String(record.version)),
                    .time(record.startedAt),
                    .time(record.endedAt),
                    .text(record.endReason ?? ""),
                ] + Self.usageCells(record.usage)
            },
            empty: "No session has ended yet."
        )
        body += ConsoleHTML.paragraph("Updated \(ConsoleHTML.time(clock.now())); this page reloads every \(Self.sessionsRefreshSeconds) s.", muted: true)
        return Content(title: "Sessions", body: body, refreshSeconds: Self.sessionsRefreshSeconds)
    }

    private static func usageCells(_ usage: SessionUsage) -> [ConsoleHTML.Cell] {
        [
            .number(ConsoleHTML.decimal(usage.cpuSeconds)),
            .number(ConsoleHTML.decimal(usage.memoryGBSeconds)),
            .number(ConsoleHTML.bytes(usage.peakMemoryBytes)),
            .number(String(usage.invocations)),
            .number(ConsoleHTML.bytes(usage.bytesIn)),
            .number(ConsoleHTML.bytes(usage.bytesOut)),
        ]
    }

    /// The stop button: ends the session (`TerminateSession` on its agent) and returns to the sessions page.
    @Sendable func stopSession(_ viewer: Viewer, _ request: Request, _ context: GatewayRequestContext) async throws -> Response {
        let form = try await ConsoleForms.read(request, cookie: viewer.cookie, baseURL: baseURL.resolve(authority: request.head.authority))
        let runtimeId = try Self.runtimeId(form["agentRuntimeId"]) ?? ""
        guard let sessionId = form["runtimeSessionId"], RuntimeSessionId.isValid(sessionId) else {
            throw AgentCoreError.invalidField("runtimeSessionId", "Member must be 33-256 characters")
        }
        try await gate.authorize(viewer.principal, .terminateSession, runtimeId: runtimeId, request, context)
        try await sessions.end(runtimeId: runtimeId, sessionId: sessionId, by: viewer.principal)
        return Response(
            status: .seeOther,
            headers: [.location: ConsoleHTML.path("/console/sessions", [("stopped", sessionId)]), .cacheControl: "no-store"]
        )
    }
}
