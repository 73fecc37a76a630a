import Foundation
import NIOHTTP1
import PortcullisCore
@testable import PortcullisGateway
import PortcullisSessions
import PortcullisStore
import Testing

/// Per-session metering of sandboxed sessions: CPU time from the cgroup, memory GB-seconds, calls and bytes; the
/// records in the store; the administrators' API and the `portcullis sessions` / `portcullis usage` commands.
@Suite("Metering of sandboxed sessions", .enabled(if: canRunSandboxes, "needs root and bubblewrap (apt-get install bubblewrap)"))
struct MeteringTests {
    static func admin(_ gateway: TestGateway, _ path: String, method: HTTPMethod = .GET, key: String? = nil) async throws -> (status: Int, body: String) {
        let response = try await gateway.send(method, gateway.baseURL + path, key: key ?? gateway.adminKey)
        return (response.status, response.body)
    }

    /// One probe call with a body of known size; returns the response body's size.
    static func call(_ gateway: TestGateway, _ arn: String, session: String, _ body: String) async throws -> Int {
        let response = try await gateway.send(
            .POST, gateway.invocationURL(arn),
            headers: [("Content-Type", "application/json"), ("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id", session)],
            body: body
        )
        #expect(response.status == 200, "\(response.body)")
        return response.body.utf8.count
    }

    @Test("CPU time, memory GB-seconds, calls and bytes per session; live and ended through /admin; totals per agent and principal; refused to non-administrators")
    func meteredSessions() async throws {
        try await SandboxTests.withProbe { gateway, arn in
            let runtimeId = try #require(arn.split(separator: "/").last.map(String.init))
            let busy = SandboxTests.session("c")
            let idle = SandboxTests.session("i")
            let burn = #"{"action": "burn", "cpuSeconds": 0.6}"#
            let echo = #"{"action": "echo"}"#
            var busyOut = try await Self.call(gateway, arn, session: busy, burn)
            busyOut += try await Self.call(gateway, arn, session: busy, echo)
            let idleOut = try await Self.call(gateway, arn, session: idle, echo)
            // The idle session waits: sleeping costs no CPU time.
            try await Task.sleep(for: .seconds(1.5))

            let listed = try await Self.admin(gateway, "/admin/sessions?agentRuntimeId=\(runtimeId)")
            #expect(listed.status == 200, "\(listed.body)")
            let active = try #require(try TestGateway.json(listed.body)["sessions"] as? [[String: Any]])
            #expect(Set(active.compactMap { $0["runtimeSessionId"] as? String }) == [busy, idle])
            let live = try #require(active.first { $0["runtimeSessionId"] as? String == busy })
            #expect(live["status"] as? String == "ACTIVE" && live["inFlight"] as? Int == 0 && live["driver"] as? String == "bubblewrap")
            #expect((live["usage"] as? [String: Any])?["invocations"] as? Int == 2, "\(live)")

            // Ended by an administrator: the record is final.
            #expect(try await Self.admin(gateway, "/admin/runtimes/\(runtimeId)/sessions/\(busy)", method: .DELETE).status == 204)
            #expect(try await gateway.gateway.sessions.sandboxes?.count == 1)
            let shown = try TestGateway.json(try await Self.admin(gateway, "/admin/runtimes/\(runtimeId)/sessions/\(busy)").body)
            #expect(shown["status"] as? String == "ENDED" && shown["endReason"] as? String == "stopped", "\(shown)")
            let usage = try #require(shown["usage"] as? [String: Double])
            #expect(usage["invocations"] == 2)
            #expect(usage["bytesIn"] == Double(burn.utf8.count + echo.utf8.count), "request bodies to the agent: \(usage)")
            #expect(usage["bytesOut"] == Double(busyOut), "response bodies to the caller: \(usage)")
            // The agent burned 0.6 CPU-seconds (plus its start); sleeping and waiting cost nothing.
            let busyCPU = try #require(usage["cpuSeconds"])
            #expect(busyCPU >= 0.6 && busyCPU <= 1.5, "\(usage)")
            let memory = try #require(usage["memoryGBSeconds"])
            #expect(memory >= 0.125, "at least 128 MiB for at least a second: \(usage)")
            #expect(memory < 0.125 * 60, "not more than the floor over the session's life: \(usage)")
            #expect((usage["peakMemoryBytes"] ?? 0) > Double(4 << 20), "the Python agent's resident memory: \(usage)")

            // The session's start and end are in the audit log, the end with its reason.
            await gateway.gateway.audit.flush()
            let lifecycle = try await gateway.gateway.store.auditRecords(AuditQuery(kinds: [.sessionStarted, .sessionEnded], agentRuntimeId: runtimeId))
            let busyEvents = lifecycle.filter { $0.event.details["runtimeSessionId"]?.stringValue == busy }.map(\.event)
            #expect(busyEvents.map(\.kind) == [.sessionStarted, .sessionEnded], "\(lifecycle.map(\.event))")
            #expect(busyEvents.last?.details["reason"]?.stringValue == "stopped")

            try await gateway.gateway.sessions.sandboxes?.stop(runtimeId: runtimeId, sessionId: idle, principalId: nil)
            let idleRecord = try #require(try await gateway.gateway.store.latestSession(runtimeId: runtimeId, sessionId: idle))
            #expect(idleRecord.usage.bytesOut == idleOut && idleRecord.usage.invocations == 1)
            #expect(idleRecord.usage.cpuSeconds < busyCPU - 0.25, "waiting is free: idle \(idleRecord.usage.cpuSeconds) s vs busy \(busyCPU) s")

            let ended = try TestGateway.json(try await Self.admin(gateway, "/admin/sessions?state=ended").body)
            #expect((ended["sessions"] as? [[String: Any]])?.count == 2)
            let byAgent = try TestGateway.json(try await Self.admin(gateway, "/admin/usage?by=agent").body)
            let row = try #require((byAgent["rows"] as? [[String: Any]])?.first { $0["agentRuntimeId"] as? String == runtimeId })
            #expect(row["sessions"] as? Int == 2 && row["invocations"] as? Int == 3, "\(row)")
            #expect(abs((row["cpuSeconds"] as? Double ?? 0) - (busyCPU + idleRecord.usage.cpuSeconds)) < 0.000_001)
            let byPrincipal = try TestGateway.json(try await Self.admin(gateway, "/admin/usage?by=principal").body)
            #expect((byPrincipal["rows"] as? [[String: Any]])?.map { $0["principal"] as? String } == [idleRecord.ownerId])
            let csv = try await Self.admin(gateway, "/admin/usage?by=agent&format=csv")
            #expect(csv.body.hasPrefix("agentRuntimeId,sessions,cpuSeconds,memoryGBSeconds,peakMemoryBytes,invocations,bytesIn,bytesOut\r\n"))
            #expect(csv.body.contains("\r\n\(runtimeId),2,"), "\(csv.body)")

            // The same through the command line.
            if let binary = ExternalProcess.portcullisBinary {
                let common = ["--gateway", gateway.baseURL, "--api-key", gateway.adminKey]
                let list = try await ExternalProcess.run(binary, ["sessions", "list", "--state", "all", "--json"] + common)
                #expect(list.status == 0, "\(list.error)")
                let lines = list.output.split(separator: "\n").map { try? TestGateway.json(String($0)) }
                #expect(Set(lines.compactMap { $0?["runtimeSessionId"] as? String }) == [busy, idle], "\(list.output)")
                let usageCSV = try await ExternalProcess.run(binary, ["usage", "--by", "agent", "--since", "1h", "--format", "csv"] + common)
                #expect(usageCSV.output == csv.body, "\(usageCSV.error)")
                let stopGone = try await ExternalProcess.run(binary, ["sessions", "stop", runtimeId, busy] + common)
                #expect(stopGone.status != 0 && stopGone.error.contains("ResourceNotFoundException"), "\(stopGone.error)")
            }

            // Not an administrator: refused, and nothing is shown.
            for path in ["/admin/sessions", "/admin/usage", "/admin/runtimes/\(runtimeId)/sessions/\(busy)"] {
                let refused = try await Self.admin(gateway, path, key: gateway.invokeKey)
                #expect(refused.status == 403, "\(path): \(refused.body)")
                #expect(!refused.body.contains(busy))
            }
            let bad = try await Self.admin(gateway, "/admin/sessions?state=sleeping")
            #expect(bad.status == 400 && bad.body.contains("state"))
        }
    }

    @Test("sessions an earlier run left open end as of their last checkpoint when the gateway starts again")
    func openSessionsOfAnEarlierRun() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let data = directory.path + "/data"
        let startedAt = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 600).rounded())  // whole seconds: stored exactly
        let leftOpen = SessionRecord(
            sandboxId: "crashed0123456789", runtimeId: "probe-0123456789", sessionId: SandboxTests.session("x"), version: 1, ownerId: "apikey:x",
            driver: "bubblewrap", startedAt: startedAt, endedAt: nil, endReason: nil, updatedAt: startedAt.addingTimeInterval(90),
            usage: SessionUsage(cpuSeconds: 1.5, memoryGBSeconds: 12, peakMemoryBytes: 1 << 27, invocations: 3, bytesIn: 1, bytesOut: 2)
        )
        try await TestGateway.run(configure: { $0.store = StoreConfiguration(dataDirectory: data) }) { gateway in
            try await gateway.gateway.store.saveSessions([leftOpen])
        }
        try await TestGateway.run(configure: { configuration in
            configuration.store = StoreConfiguration(dataDirectory: data)
            configuration.sandbox = SandboxConfiguration(driver: .bubblewrap)
        }) { gateway in
            let record = try #require(try await gateway.gateway.store.latestSession(runtimeId: leftOpen.runtimeId, sessionId: leftOpen.sessionId))
            #expect(record.endReason == "gatewayStopped")
            #expect(record.endedAt == leftOpen.updatedAt)
            #expect(record.usage == leftOpen.usage, "the usage of the last checkpoint stands")
        }
    }
}
