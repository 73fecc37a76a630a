import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PortcullisCore
import PortcullisPolicy
import PortcullisSessions
import PortcullisStore

/// The administrators' view of sandboxed sessions and their metering (a Portcullis API; `portcullis sessions` and
/// `portcullis usage` use it):
///
/// - `GET /admin/sessions` — sessions, newest first (`?agentRuntimeId=&principal=&state=active|ended|all&since=&maxResults=&nextToken=`)
/// - `GET /admin/runtimes/{id}/sessions/{sessionId}` — one session, its latest run
/// - `DELETE /admin/runtimes/{id}/sessions/{sessionId}` — ends a session whoever owns it
/// - `GET /admin/usage?by=agent|principal&since=&until=&format=json|csv` — usage added up, for chargeback
///
/// Records come from the store (written when a session starts, every 30 s while it runs, and when it ends); a
/// running session's usage is brought up to now from its sandbox.
struct SessionsController: Sendable {
    let gate: AdministratorGate
    let store: any SessionUsageStore
    let sandboxes: SandboxSessions?
    let names: ResourceNames
    let clock: any WallClock

    func register(on router: Router<GatewayRequestContext>) {
        router.get("/admin/sessions", use: list)
        router.get("/admin/runtimes/:runtime/sessions/:session", use: show)
        router.delete("/admin/runtimes/:runtime/sessions/:session", use: terminate)
        router.get("/admin/usage", use: usage)
    }

    @Sendable func list(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try await gate.authenticate(request).principal
        try gate.authorize(principal, .listSessions, .gateway, request, context)
        let query = request.uri.queryParameters
        let limit = try PageToken.pageSize(query["maxResults"].map(String.init))
        let state = try query["state"].map { raw throws(AgentCoreError) in
            guard let state = SessionQuery.State(rawValue: String(raw)) else {
                throw AgentCoreError.invalidField("state", "Member must satisfy enum value set: [active, ended, all]")
            }
            return state
        } ?? .active
        let runtimeId = query["agentRuntimeId"].map(String.init)
        if let runtimeId, !AgentRuntimeIdentifier.isValidRuntimeId(runtimeId[...]) {
            throw AgentCoreError.invalidField("agentRuntimeId", "Member must satisfy regular expression pattern: [a-zA-Z][a-zA-Z0-9_]{0,99}-[a-zA-Z0-9]{10}")
        }
        let records = try await store.sessions(
            SessionQuery(
                runtimeId: runtimeId,
                ownerId: try Self.bounded(query["principal"].map(String.init), field: "principal"),
                state: state,
                since: try Self.date(query["since"].map(String.init), field: "since"),
                after: try Self.cursor(query["nextToken"].map(String.init)),
                limit: limit + 1
            )
        )
        let live = liveSessions()
        return ControlPlaneController.json(
            PageToken.page(records, limit: limit, member: "sessions", position: { "\($0.startedAt.timeIntervalSince1970)|\($0.sandboxId)" }) {
                shape(live[$0.sandboxId]?.record ?? $0, inFlight: live[$0.sandboxId]?.inFlight)
            }
        )
    }

    @Sendable func show(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try await gate.authenticate(request).principal
        let (runtimeId, sessionId) = try parameters(context)
        try await gate.authorize(principal, .getSession, runtimeId: runtimeId, request, context)
        guard let record = try await store.latestSession(runtimeId: runtimeId, sessionId: sessionId) else {
            throw AgentCoreError(.resourceNotFound, "Runtime session \(sessionId) was not found")
        }
        let live = liveSessions()[record.sandboxId]
        return ControlPlaneController.json(shape(live?.record ?? record, inFlight: live?.inFlight))
    }

    @Sendable func terminate(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try await gate.authenticate(request).principal
        let (runtimeId, sessionId) = try parameters(context)
        try await gate.authorize(principal, .terminateSession, runtimeId: runtimeId, request, context)
        try await end(runtimeId: runtimeId, sessionId: sessionId, by: principal)
        return Response(status: .noContent)
    }

    /// Ends anyone's session for an administrator already authorized to (`TerminateSession`); the session's end
    /// is audited with reason `stopped`, and who ended it as a control-plane change.
    func end(runtimeId: String, sessionId: String, by principal: Principal) async throws(AgentCoreError) {
        guard let sandboxes else { throw AgentCoreError(.resourceNotFound, "Runtime session \(sessionId) was not found") }
        try await sandboxes.stop(runtimeId: runtimeId, sessionId: sessionId, principalId: nil)
        gate.recordChange(
            GatewayAction.terminateSession.rawValue, by: principal, resource: names.runtimeARN(runtimeId: runtimeId), agentRuntimeId: runtimeId,
            details: ["runtimeSessionId": .string(sessionId)]
        )
    }

    @Sendable func usage(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try await gate.authenticate(request).principal
        try gate.authorize(principal, .getUsage, .gateway, request, context)
        let query = request.uri.queryParameters
        guard let grouping = UsageSummary.Grouping(rawValue: query["by"].map(String.init) ?? "agent") else {
            throw AgentCoreError.invalidField("by", "Member must satisfy enum value set: [agent, principal]")
        }
        let until = try Self.date(query["until"].map(String.init), field: "until") ?? clock.now()
        let since = try Self.date(query["since"].map(String.init), field: "since") ?? until.addingTimeInterval(-30 * 86_400)
        guard since < until else { throw AgentCoreError.invalidField("since", "Member must be before until") }
        let format = query["format"].map(String.init) ?? "json"
        guard format == "json" || format == "csv" else {
            throw AgentCoreError.invalidField("format", "Member must satisfy enum value set: [json, csv]")
        }
        let rows = try await store.usageSummary(by: grouping, since: since, until: until)
        if format == "csv" {
            var headers = HTTPFields()
            headers[.contentType] = "text/csv; charset=utf-8"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: UsageCSV.render(rows, grouping: grouping))))
        }
        return ControlPlaneController.json(
            .object([
                "by": .string(grouping.rawValue),
                "since": AgentRuntimeShapes.timestamp(since),
                "until": AgentRuntimeShapes.timestamp(until),
                "rows": .array(rows.map { row in
                    var members = Self.usage(row.usage)
                    members[grouping == .agent ? "agentRuntimeId" : "principal"] = .string(row.key)
                    members["sessions"] = .number(Double(row.sessions))
                    return .object(members)
                }),
            ])
        )
    }

    // MARK: - Shapes and parameters

    func liveSessions() -> [String: SandboxSessions.ActiveSession] {
        Dictionary((sandboxes?.activeSessions() ?? []).map { ($0.record.sandboxId, $0) }, uniquingKeysWith: { first, _ in first })
    }

    private func shape(_ record: SessionRecord, inFlight: Int?) -> JSONValue {
        var members: [String: JSONValue] = [
            "sandboxId": .string(record.sandboxId),
            "agentRuntimeId": .string(record.runtimeId),
            "agentRuntimeArn": .string(names.runtimeARN(runtimeId: record.runtimeId)),
            "runtimeSessionId": .string(record.sessionId),
            "agentRuntimeVersion": .string(String(record.version)),
            "principal": .string(record.ownerId),
            "driver": .string(record.driver),
            "status": .string(record.isActive ? "ACTIVE" : "ENDED"),
            "startedAt": AgentRuntimeShapes.timestamp(record.startedAt),
            "lastUpdatedAt": AgentRuntimeShapes.timestamp(record.updatedAt),
            "usage": .object(Self.usage(record.usage)),
        ]
        if let endedAt = record.endedAt { members["endedAt"] = AgentRuntimeShapes.timestamp(endedAt) }
        if let reason = record.endReason { members["endReason"] = .string(reason) }
        if let inFlight { members["inFlight"] = .number(Double(inFlight)) }
        return .object(members)
    }

    static func usage(_ usage: SessionUsage) -> [String: JSONValue] {
        [
            "cpuSeconds": .number(usage.cpuSeconds),
            "memoryGBSeconds": .number(usage.memoryGBSeconds),
            "peakMemoryBytes": .number(Double(usage.peakMemoryBytes)),
            "invocations": .number(Double(usage.invocations)),
            "bytesIn": .number(Double(usage.bytesIn)),
            "bytesOut": .number(Double(usage.bytesOut)),
        ]
    }

    private func parameters(_ context: GatewayRequestContext) throws(AgentCoreError) -> (String, String) {
        guard let runtime = context.parameters.get("runtime", as: Substring.self).flatMap({ PercentEncoding.decode($0) }),
            AgentRuntimeIdentifier.isValidRuntimeId(runtime[...])
        else {
            throw AgentCoreError.invalidField("agentRuntimeId", "Member must satisfy regular expression pattern: [a-zA-Z][a-zA-Z0-9_]{0,99}-[a-zA-Z0-9]{10}")
        }
        guard let session = context.parameters.get("session", as: Substring.self).flatMap({ PercentEncoding.decode($0) }), RuntimeSessionId.isValid(session) else {
            throw AgentCoreError.invalidField("runtimeSessionId", "Member must be 33-256 characters")
        }
        return (runtime, session)
    }

    private static func bounded(_ text: String?, field: String) throws(AgentCoreError) -> String? {
        guard let text else { return nil }
        guard (1...1024).contains(text.utf8.count) else { throw AgentCoreError.invalidField(field, "Member must be 1-1024 characters") }
        return text
    }

    /// An ISO 8601 time (`2026-12-01T00:00:00Z`, fractional seconds allowed).
    static func date(_ text: String?, field: String) throws(AgentCoreError) -> Date? {
        guard let text else { return nil }
        if let date = try? Date(text, strategy: .iso8601) { return date }
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) { return date }
        throw AgentCoreError.invalidField(field, "Member must be an ISO 8601 time such as 2026-12-01T00:00:00Z")
    }

    private static func cursor(_ token: String?) throws(AgentCoreError) -> SessionCursor? {
        guard let position = try PageToken.decode(token) else { return nil }
        let parts = position.split(separator: "|", maxSplits: 1)
        guard parts.count == 2, let seconds = Double(parts[0]), seconds.isFinite else {
            throw AgentCoreError.invalidField("nextToken", "Member is not a token this listing returned")
        }
        return SessionCursor(startedAt: Date(timeIntervalSince1970: seconds), sandboxId: String(parts[1]))
    }
}

/// Usage rows as CSV (RFC 4180), one line per agent runtime or principal.
enum UsageCSV {
    static func render(_ rows: [UsageSummary], grouping: UsageSummary.Grouping) -> String {
        var lines = ["\(grouping == .agent ? "agentRuntimeId" : "principal"),sessions,cpuSeconds,memoryGBSeconds,peakMemoryBytes,invocations,bytesIn,bytesOut"]
        for row in rows {
            let usage = row.usage
            let fields = [
                field(row.key), String(row.sessions), String(format: "%.6f", usage.cpuSeconds), String(format: "%.6f", usage.memoryGBSeconds),
                String(usage.peakMemoryBytes), String(usage.invocations), String(usage.bytesIn), String(usage.bytesOut),
            ]
            lines.append(fields.joined(separator: ","))
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// A field quoted when it holds a comma, quote or line break; a leading `=`, `+`, `-` or `@` is prefixed with `'`
    /// so a spreadsheet does not run it as a formula.
    static func field(_ text: String) -> String {
        var value = text
        if let first = value.first, "=+-@".contains(first) { value = "'" + value }
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
