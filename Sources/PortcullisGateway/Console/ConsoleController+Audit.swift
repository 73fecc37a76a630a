import Foundation
import Hummingbird
import PortcullisCore
import PortcullisPolicy
import PortcullisStore

/// The console's audit search: the newest records first, filtered by kind, principal, agent and time, paged back
/// by sequence number.
extension ConsoleController {
    static let auditRecordsPerPage = 50
    /// A record's details are shown up to this many characters (the API and `portcullis audit query` give all).
    static let auditDetailsShown = 2000

    @Sendable func auditPage(_ viewer: Viewer, _ request: Request, _ context: GatewayRequestContext) async throws -> Content {
        try gate.authorize(viewer.principal, .getAuditLog, .gateway, request, context)
        let kindName = try Self.parameter(request, "kind")
        let kind = try kindName.map { name throws(AgentCoreError) -> AuditEvent.Kind in
            guard let kind = AuditEvent.Kind(rawValue: name) else {
                throw AgentCoreError.invalidField("kind", "Member must satisfy enum value set: [\(AuditEvent.Kind.allCases.map(\.rawValue).joined(separator: ", "))]")
            }
            return kind
        }
        let principal = try Self.parameter(request, "principal")
        let runtimeId = try Self.runtimeId(Self.parameter(request, "agentRuntimeId"))
        let sinceText = try Self.parameter(request, "since")
        let untilText = try Self.parameter(request, "until")
        let since = try SessionsController.date(sinceText, field: "since")
        let until = try SessionsController.date(untilText, field: "until")
        let before = try Self.parameter(request, "before").map { text throws(AgentCoreError) -> Int64 in
            guard let sequence = Int64(text), sequence > 0 else { throw AgentCoreError.invalidField("before", "Member must be a record's sequence number") }
            return sequence
        }
        // What was recorded until now is on the page, not only after the next flush.
        await auditLog.flush()
        let records = try await auditRecords.auditRecords(
            AuditQuery(
                kinds: kind.map { [$0] } ?? [], principal: principal, agentRuntimeId: runtimeId, since: since, until: until, before: before,
                newestFirst: true, limit: Self.auditRecordsPerPage + 1
            )
        )
        let filters: [(String, String?)] = [
            ("kind", kindName), ("principal", principal), ("agentRuntimeId", runtimeId), ("since", sinceText), ("until", untilText),
        ]
        var body = ConsoleHTML.getForm(
            action: "/console/audit",
            controls: [
                ConsoleHTML.select("Kind", name: "kind", options: [("", "any")] + AuditEvent.Kind.allCases.map { ($0.rawValue, $0.rawValue) }, selected: kindName ?? ""),
                ConsoleHTML.textInput("Principal", name: "principal", value: principal, width: 28),
                ConsoleHTML.textInput("Agent runtime id", name: "agentRuntimeId", value: runtimeId, width: 22),
                ConsoleHTML.textInput("Since", name: "since", value: sinceText, placeholder: "2026-12-01T00:00:00Z", width: 20),
                ConsoleHTML.textInput("Until", name: "until", value: untilText, placeholder: "2026-12-02T00:00:00Z", width: 20),
            ],
            submit: "Search"
        )
        let shown = records.prefix(Self.auditRecordsPerPage)
        body += ConsoleHTML.table(
            ["#", "Time", "Kind", "Outcome", "Principal", "Agent", "Action", "Request", "Details"],
            shown.map { record in
                let event = record.event
                return [
                    .number(String(record.sequence)),
                    .time(event.time),
                    .text(event.kind.rawValue),
                    .text(event.outcome),
                    .text(event.principal ?? ""),
                    event.agentRuntimeId.map { .link($0, to: "/console/agents/\($0)") } ?? .text(""),
                    .text(event.action ?? ""),
                    .code(event.requestId ?? ""),
                    .code(Self.abbreviated(String(decoding: JSONValue.object(event.details).serialized(), as: UTF8.self))),
                ]
            },
            empty: "No audit record matches."
        )
        if records.count > Self.auditRecordsPerPage, let oldest = shown.last {
            body += "<p>" + ConsoleHTML.link("Older records", to: ConsoleHTML.path("/console/audit", filters + [("before", String(oldest.sequence))])) + "</p>"
        }
        if before != nil {
            body += "<p>" + ConsoleHTML.link("Newest records", to: ConsoleHTML.path("/console/audit", filters)) + "</p>"
        }
        return Content(title: "Audit log", body: body)
    }

    static func abbreviated(_ text: String) -> String {
        text.count <= auditDetailsShown ? text : String(text.prefix(auditDetailsShown)) + "…"
    }
}
