import Foundation
import GRDB
import NIOHTTP1
import PortcullisCore
@testable import PortcullisGateway
@testable import PortcullisStore
import Testing

/// The audit log as the gateway writes it, and `portcullis audit`.
@Suite("Audit log: what the gateway records, and the audit command")
struct AuditTests {
    @Test("control-plane changes and refused credentials are recorded; `portcullis audit verify` finds an edit; query filters by kind")
    func recordedAndVerified() async throws {
        try await TestGateway.run { gateway in
            let created = try await gateway.send(
                .PUT, "\(gateway.baseURL)/runtimes/", body: try ControlPlaneTests.createBody(name: "audited", url: "http://127.0.0.1:9"), key: gateway.adminKey
            )
            #expect(created.status == 202)
            let runtimeId = try #require(try TestGateway.json(created.body)["agentRuntimeId"] as? String)
            var update = try TestGateway.json(try ControlPlaneTests.createBody(name: "unused", url: "http://127.0.0.1:9", extra: ["environmentVariables": ["API_TOKEN": "sentinel-secret-value"]]))
            update.removeValue(forKey: "agentRuntimeName")
            let updated = try await gateway.send(
                .PUT, "\(gateway.baseURL)/runtimes/\(runtimeId)/",
                body: String(decoding: try JSONSerialization.data(withJSONObject: update), as: UTF8.self), key: gateway.adminKey
            )
            #expect(updated.status == 202, "\(updated.body)")
            let refused = try await gateway.send(.POST, gateway.invocationURL(gateway.names.runtimeARN(runtimeId: runtimeId)), body: "{}", key: "pcs_notakey_0000000000000000000000000000000000000000000")
            #expect(refused.status == 401 || refused.status == 403)
            await gateway.gateway.audit.flush()

            let store = gateway.gateway.store
            let changes = try await store.auditRecords(AuditQuery(kinds: [.controlPlaneChange]))
            #expect(changes.map(\.event.action) == ["CreateAgentRuntime", "UpdateAgentRuntime"])
            let change = try #require(changes.first)
            let updateDetails = try #require(changes.last?.event.details)
            #expect(updateDetails["before"]?["version"]?.numberValue == 1 && updateDetails["after"]?["version"]?.numberValue == 2, "\(updateDetails)")
            #expect(updateDetails["after"]?["environmentVariableNames"] == .array([.string("API_TOKEN")]))
            #expect(!(changes.last?.body.contains("sentinel-secret-value") ?? true), "variable values stay out of the audit log")
            #expect(change.event.action == "CreateAgentRuntime" && change.event.agentRuntimeId == runtimeId && change.event.outcome == "success")
            #expect(change.event.principal?.hasPrefix("apikey:") == true, "\(change.event)")
            let failures = try await store.auditRecords(AuditQuery(kinds: [.authenticationFailed]))
            #expect(failures.count == 1 && failures[0].event.agentRuntimeId == runtimeId, "\(failures.map(\.event))")
            #expect(failures[0].event.details["reason"]?.stringValue?.isEmpty == false)
            #expect(!failures[0].body.contains("notakey"), "the refused credential is not in the record")

            // The same through the administrators' API, paged; others may not read it.
            let page = try await gateway.send(.GET, "\(gateway.baseURL)/admin/audit?maxResults=1", key: gateway.adminKey)
            #expect(page.status == 200, "\(page.body)")
            let pageJSON = try TestGateway.json(page.body)
            #expect((pageJSON["records"] as? [[String: Any]])?.count == 1 && pageJSON["nextToken"] is String, "\(pageJSON)")
            let filtered = try TestGateway.json(try await gateway.send(.GET, "\(gateway.baseURL)/admin/audit?kind=controlplane.change", key: gateway.adminKey).body)
            let apiRecords = try #require(filtered["records"] as? [[String: Any]])
            #expect(apiRecords.count == 2 && apiRecords[0]["action"] as? String == "CreateAgentRuntime" && apiRecords[0]["hash"] as? String == change.hash)
            #expect(try await gateway.send(.GET, "\(gateway.baseURL)/admin/audit", key: gateway.invokeKey).status == 403)
            #expect(try await gateway.send(.GET, "\(gateway.baseURL)/admin/audit?kind=nonsense", key: gateway.adminKey).status == 400)
            await gateway.gateway.audit.flush()
            let denied = try await store.auditRecords(AuditQuery(kinds: [.authorizationDenied]))
            #expect(denied.map(\.event.action) == ["GetAuditLog"], "the refused read is itself audited: \(denied.map(\.event))")
            #expect(denied.first?.event.details["policies"] != nil && denied.first?.event.requestId != nil)

            guard let binary = ExternalProcess.portcullisBinary else { return }
            let data = ["--data", gateway.gateway.configuration.store.dataDirectory]
            let verified = try await ExternalProcess.run(binary, ["audit", "verify"] + data)
            #expect(verified.status == 0 && verified.output.contains("intact"), "\(verified.output)\(verified.error)")
            let query = try await ExternalProcess.run(binary, ["audit", "query", "--kind", "controlplane.change", "--json"] + data)
            let lines = query.output.split(separator: "\n")
            #expect(lines.count == 2 && lines[0].contains("\"action\":\"CreateAgentRuntime\"") && lines[0].contains("\"hash\":\"\(change.hash)\""), "\(query.output)")

            try await store.pool.write { db in
                try db.execute(sql: "UPDATE audit_record SET body = replace(body, 'CreateAgentRuntime', 'GetAgentRuntime') WHERE sequence = ?", arguments: [change.sequence])
            }
            let tampered = try await ExternalProcess.run(binary, ["audit", "verify"] + data)
            #expect(tampered.status != 0, "an edited record fails verification")
            #expect(tampered.output.contains("TAMPERED: record \(change.sequence): its content was changed"), "\(tampered.output)")
        }
    }
}
