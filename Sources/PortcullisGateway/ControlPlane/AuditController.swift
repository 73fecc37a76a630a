import Foundation
import Hummingbird
import PortcullisCore
import PortcullisPolicy
import PortcullisStore

/// `GET /admin/audit?kind=&agentRuntimeId=&principal=&since=&until=&maxResults=&nextToken=`: audit records, oldest
/// first, each with its hashes (a Portcullis API for administrators; Cedar action `GetAuditLog`).
struct AuditController: Sendable {
    let gate: AdministratorGate
    let store: any AuditStore
    let log: AuditLog

    func register(on router: Router<GatewayRequestContext>) {
        router.get("/admin/audit", use: query)
    }

    @Sendable func query(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try await gate.authenticate(request).principal
        try gate.authorize(principal, .getAuditLog, .gateway, request, context)
        let query = request.uri.queryParameters
        let limit = try PageToken.pageSize(query["maxResults"].map(String.init), maximum: 1000)
        var kinds: [AuditEvent.Kind] = []
        for name in query.getAll("kind") {
            guard let kind = AuditEvent.Kind(rawValue: String(name)) else {
                throw AgentCoreError.invalidField("kind", "Member must satisfy enum value set: [\(AuditEvent.Kind.allCases.map(\.rawValue).joined(separator: ", "))]")
            }
            kinds.append(kind)
        }
        let after = try PageToken.decode(query["nextToken"].map(String.init)).map { position throws(AgentCoreError) -> Int64 in
            guard let sequence = Int64(position), sequence >= 0 else { throw AgentCoreError.invalidField("nextToken", "Member is not a token this listing returned") }
            return sequence
        }
        // What was recorded until now is readable now, not after the next flush.
        await log.flush()
        let records = try await store.auditRecords(
            AuditQuery(
                kinds: kinds,
                principal: query["principal"].map(String.init),
                agentRuntimeId: query["agentRuntimeId"].map(String.init),
                since: try SessionsController.date(query["since"].map(String.init), field: "since"),
                until: try SessionsController.date(query["until"].map(String.init), field: "until"),
                after: after,
                limit: limit + 1
            )
        )
        return ControlPlaneController.json(
            PageToken.page(records, limit: limit, member: "records", position: { String($0.sequence) }) { record in
                var members = (try? JSONDecoder().decode(JSONValue.self, from: Data(record.body.utf8)).objectValue) ?? [:]
                members["hash"] = .string(record.hash)
                members["previousHash"] = .string(record.previousHash)
                return .object(members)
            }
        )
    }
}
