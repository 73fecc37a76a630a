import Foundation
import NIOHTTP1
@testable import PortcullisCore
@testable import PortcullisGateway
import PortcullisIdentity
import PortcullisPolicy
import PortcullisStore
import Synchronization
import Testing

/// Cedar policies deciding real requests through the gateway: users from a real (loopback) identity provider,
/// agents on loopback ports, decisions read back from the SQLite decision log.
@Suite("Authorization: Cedar policies on every request")
struct AuthorizationTests {
    static let grants = """
        @id("support-team-uses-support")
        permit (principal in Group::"support", action in Action::"UseAgent", resource == Agent::"support");

        @id("engineers-use-engineering-agents")
        permit (principal in Group::"engineering", action in Action::"UseAgent", resource in AgentGroup::"team=engineering");

        @id("finance-uses-billing")
        permit (principal in Group::"finance", action in Action::"UseAgent", resource == Agent::"billing");

        @id("no-interns-on-billing")
        forbid (principal in Group::"interns", action, resource == Agent::"billing");
        """

    /// Starts an identity provider, a recording agent and a gateway with `policies`, registers JWT runtimes
    /// `names` (with `tags`), and hands over a way to call them as a user with groups.
    static func withJWTRuntimes(
        _ policies: [String: String],
        runtimes: [(name: String, tags: [String: String])],
        clock: any WallClock = SystemWallClock(),
        reloadInterval: Double = 2,
        _ body: (_ gateway: TestGateway, _ call: @escaping @Sendable (String, [String]) async throws -> (status: Int, headers: HTTPHeaders, body: String), RequestRecorder, String) async throws -> Void
    ) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let policyPath = try makePolicyDirectory(policies, in: directory)
        try await TestIdentityProvider.run { provider in
            try await withTestAgent({ $0.addRecordingInvocations($1) }) { agentURL, recorder in
                try await TestGateway.run(clock: clock, configure: {
                    $0.policies = PolicyConfiguration(directory: policyPath, reloadIntervalSeconds: reloadInterval)
                }) { gateway in
                    var arns: [String: String] = [:]
                    for runtime in runtimes {
                        arns[runtime.name] = try await gateway.registerAgent(
                            name: runtime.name, url: agentURL,
                            authorizer: CustomJWTAuthorizer(discoveryURL: provider.discoveryURL, allowedClients: ["client-1"]),
                            tags: runtime.tags
                        )
                    }
                    let targets = arns
                    let call: @Sendable (String, [String]) async throws -> (status: Int, headers: HTTPHeaders, body: String) = { name, groups in
                        let token = try provider.token(
                            ["sub": .string("user-\(groups.joined(separator: "-"))"), "groups": .array(groups.map(JSONValue.string))], now: clock.now()
                        )
                        return try await gateway.send(.POST, gateway.invocationURL(targets[name]!), body: "{}", key: token)
                    }
                    try await body(gateway, call, recorder, policyPath)
                }
            }
        }
    }

    /// Waits until the decision log has written the decisions of `requestId`.
    static func decisions(_ gateway: TestGateway, requestId: String) async throws -> [AuthorizationDecisionRecord] {
        for _ in 0..<100 {
            let records = try await gateway.gateway.store.decisions(requestId: requestId)
            if !records.isEmpty { return records }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("no decision recorded for \(requestId)")
    }

    @Test("agents are granted per group; a denial is a generic 403 and never reaches the agent")
    func grantsByGroup() async throws {
        try await Self.withJWTRuntimes([
            "grants.cedar": Self.grants,
        ], runtimes: [("support", [:]), ("builder", ["team": "engineering"]), ("billing", [:])]) { gateway, call, recorder, _ in
            #expect(try await call("support", ["support"]).status == 200)
            #expect(try await call("builder", ["engineering", "other"]).status == 200)
            #expect(try await call("billing", ["finance"]).status == 200)
            #expect(recorder.count == 3)

            let denied = try await call("support", ["engineering"])
            #expect(denied.status == 403)
            #expect(denied.headers.first(name: "X-Amzn-ErrorType") == "AccessDeniedException")
            #expect(try TestGateway.json(denied.body)["message"] as? String == "You are not authorized to perform this operation")
            #expect(try await call("builder", ["support"]).status == 403)
            #expect(try await call("billing", []).status == 403)
            #expect(recorder.count == 3, "no denied request reached the agent")

            let requestId = try #require(denied.headers.first(name: "x-amzn-RequestId"))
            let records = try await Self.decisions(gateway, requestId: requestId)
            #expect(records.count == 1)
            let record = try #require(records.first)
            #expect(!record.allowed)
            #expect(record.policies.isEmpty, "denied by default: nothing permits it")
            #expect(record.action == #"Action::"InvokeAgent""#)
            #expect(record.resource == #"Agent::"support""#)
            #expect(record.principal.hasPrefix(#"User::""#))
            #expect(record.policySet == gateway.gateway.policies.status.activeDigest)
            #expect(record.entities?.contains(#""type":"Group","id":"engineering""#) == true, "denials keep their entities")
        }
    }

    @Test("a forbid overrides a permit, and the decision log names the forbid")
    func forbidOverridesPermit() async throws {
        try await Self.withJWTRuntimes(["grants.cedar": Self.grants], runtimes: [("billing", [:])]) { gateway, call, recorder, _ in
            let intern = try await call("billing", ["finance", "interns"])
            #expect(intern.status == 403)
            #expect(recorder.count == 0)
            let allowed = try await call("billing", ["finance"])
            #expect(allowed.status == 200)
            let internId = try #require(intern.headers.first(name: "x-amzn-RequestId"))
            let internRecord = try #require(try await Self.decisions(gateway, requestId: internId).first)
            #expect(internRecord.policies == ["no-interns-on-billing"])
            let allowedId = try #require(allowed.headers.first(name: "x-amzn-RequestId"))
            let allowedRecord = try #require(try await Self.decisions(gateway, requestId: allowedId).first)
            #expect(allowedRecord.allowed)
            #expect(allowedRecord.policies == ["finance-uses-billing"])
            #expect(allowedRecord.entities == nil && allowedRecord.request == nil, "allowed decisions are stored as a summary by default")
        }
    }

    @Test("recordAllowed: none stores denials only; full stores allowed requests whole")
    func recordAllowedLevels() async throws {
        for level in [PolicyConfiguration.RecordedAllowed.none, .full] {
            let directory = try TemporaryDirectory()
            defer { directory.cleanUp() }
            let path = try makePolicyDirectory(
                ["closed.cedar": #"@id("closed") forbid (principal, action, resource == Agent::"closed");"#], withAgents: true, in: directory
            )
            try await withTestAgent({ $0.addRecordingInvocations($1) }) { agentURL, _ in
                try await TestGateway.run(configure: { $0.policies = PolicyConfiguration(directory: path, recordAllowed: level) }) { gateway in
                    let open = try await gateway.registerAgent(name: "open", url: agentURL)
                    let closed = try await gateway.registerAgent(name: "closed", url: agentURL)
                    let allowed = try await gateway.send(.POST, gateway.invocationURL(open), body: "{}")
                    let denied = try await gateway.send(.POST, gateway.invocationURL(closed), body: "{}")
                    #expect(allowed.status == 200 && denied.status == 403)
                    let deniedId = try #require(denied.headers.first(name: "x-amzn-RequestId"))
                    let deniedRecord = try #require(try await Self.decisions(gateway, requestId: deniedId).first)
                    #expect(deniedRecord.request != nil && deniedRecord.entities != nil)
                    let allowedRecords = try await gateway.gateway.store.decisions(requestId: try #require(allowed.headers.first(name: "x-amzn-RequestId")))
                    if level == .none {
                        #expect(allowedRecords.isEmpty)
                    } else {
                        #expect(allowedRecords.first?.request?.contains(#""authMethod":"api_key""#) == true)
                        #expect(allowedRecords.first?.entities?.contains(#""allAgents":true"#) == true)
                    }
                }
            }
        }
    }

    @Test("context conditions: the source address and the time of day")
    func contextConditions() async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_764_676_800))  // 12:00 UTC
        try await Self.withJWTRuntimes([
            "grants.cedar": Self.grants,
            "guards.cedar": """
                @id("support-from-loopback-only")
                forbid (principal, action, resource == Agent::"support")
                unless { context has sourceIp && context.sourceIp.isLoopback() };

                @id("billing-from-the-office-network")
                forbid (principal, action, resource == Agent::"billing")
                unless { context has sourceIp && context.sourceIp.isInRange(ip("10.20.0.0/16")) };

                @id("builder-in-office-hours")
                forbid (principal, action, resource == Agent::"builder")
                unless { context.time.toTime() >= duration("8h") && context.time.toTime() < duration("18h") };
                """,
        ], runtimes: [("support", [:]), ("billing", [:]), ("builder", ["team": "engineering"])], clock: clock) { (_: TestGateway, call, recorder: RequestRecorder, _: String) async throws in
            #expect(try await call("support", ["support"]).status == 200, "this test connects from 127.0.0.1")
            #expect(try await call("billing", ["finance"]).status == 403, "127.0.0.1 is not in 10.20.0.0/16")
            #expect(try await call("builder", ["engineering"]).status == 200, "noon")
            clock.set(Date(timeIntervalSince1970: 1_764_676_800 + 9 * 3600))  // 21:00 UTC
            #expect(try await call("builder", ["engineering"]).status == 403, "after hours")
            #expect(recorder.count == 2)
        }
    }

    @Test("control-plane operations are actions on the runtime they name")
    func controlPlane() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let policyPath = try makePolicyDirectory([
            "readers.cedar": """
                @id("auditors-read-the-control-plane")
                permit (principal is ApiKey, action in Action::"ReadControlPlane", resource)
                when { principal.name == "auditor" };
                """,
        ], withAgents: true, in: directory)
        try await TestGateway.run(configure: { $0.policies = PolicyConfiguration(directory: policyPath) }) { gateway in
            let arn = try await gateway.registerAgent(name: "support", url: "http://127.0.0.1:1")
            let runtimeId = String(arn.split(separator: "/").last!)
            let auditor = try await gateway.gateway.apiKeys.issue(name: "auditor", agents: ["support"], administrator: false, expiresAt: nil).key
            let list = try await gateway.send(.POST, "\(gateway.baseURL)/runtimes/", body: "{}", key: auditor)
            #expect(list.status == 200)
            #expect(try await gateway.send(.GET, "\(gateway.baseURL)/runtimes/\(runtimeId)/", key: auditor).status == 200)
            let delete = try await gateway.send(.DELETE, "\(gateway.baseURL)/runtimes/\(runtimeId)/", key: auditor)
            #expect(delete.status == 403)
            #expect(delete.headers.first(name: "X-Amzn-ErrorType") == "AccessDeniedException")
            // A runtime that does not exist: callers who may not ask learn nothing, callers who may get a 404.
            #expect(try await gateway.send(.DELETE, "\(gateway.baseURL)/runtimes/nothing-0123456789/", key: auditor).status == 403)
            #expect(try await gateway.send(.GET, "\(gateway.baseURL)/runtimes/nothing-0123456789/", key: auditor).status == 404)
            #expect(try await gateway.send(.GET, "\(gateway.baseURL)/runtimes/nothing-0123456789/", key: gateway.invokeKey).status == 403)
            #expect(try await gateway.send(.DELETE, "\(gateway.baseURL)/runtimes/\(runtimeId)/", key: gateway.adminKey).status == 202)
        }
    }

    @Test("hot reload under concurrent traffic: every request is decided by one whole set, a broken set changes nothing")
    func hotReloadUnderTraffic() async throws {
        let grant = #"@id("lab-users") permit (principal in Group::"lab", action in Action::"UseAgent", resource == Agent::"lab");"#
        let revoke = grant + "\n" + #"@id("lab-closed") forbid (principal, action, resource == Agent::"lab");"#
        try await Self.withJWTRuntimes(["lab.cedar": grant], runtimes: [("lab", [:])], reloadInterval: 0.1) { gateway, call, _, policyPath in
            let policies = gateway.gateway.policies
            let grantDigest = policies.status.activeDigest
            let stop = Flag()
            let traffic = Task {
                try await withThrowingTaskGroup(of: [(Int, String)].self) { group in
                    for _ in 0..<4 {
                        group.addTask {
                            var seen: [(Int, String)] = []
                            while !stop.isSet {
                                let response = try await call("lab", ["lab"])
                                seen.append((response.status, response.headers.first(name: "x-amzn-RequestId") ?? ""))
                            }
                            return seen
                        }
                    }
                    var all: [(Int, String)] = []
                    for try await seen in group { all += seen }
                    return all
                }
            }
            func write(_ name: String, _ text: String) throws {
                try text.write(toFile: policyPath + "/" + name, atomically: true, encoding: .utf8)
            }
            func waitForDigest(otherThan digest: String) async throws -> String {
                for _ in 0..<200 {
                    if policies.status.activeDigest != digest { return policies.status.activeDigest }
                    try await Task.sleep(for: .milliseconds(20))
                }
                throw TestFailure("the policy set was not reloaded")
            }
            var revokeDigest = ""
            var sawStale = false
            for round in 0..<4 {
                try await Task.sleep(for: .milliseconds(300))
                try write("lab.cedar", revoke)
                revokeDigest = try await waitForDigest(otherThan: grantDigest)
                try await Task.sleep(for: .milliseconds(300))
                // A broken file beside the good ones: refused, reported, and the revoking set stays in force.
                try write("broken.cedar", "permit (principal, action, resource) when { principal.lab == };")
                try await Task.sleep(for: .milliseconds(400))
                #expect(policies.status.activeDigest == revokeDigest, "round \(round): the broken set was not activated")
                let ready = try TestGateway.json(try await gateway.send(.GET, "\(gateway.baseURL)/ready", key: .some(nil)).body)
                let report = try #require(ready["policies"] as? [String: Any])
                if report["state"] as? String == "stale", let errors = report["errors"] as? [String], errors.first?.hasPrefix("broken.cedar:1:") == true {
                    sawStale = true
                }
                try FileManager.default.removeItem(atPath: policyPath + "/broken.cedar")
                try write("lab.cedar", grant)
                #expect(try await waitForDigest(otherThan: revokeDigest) == grantDigest)
            }
            try await Task.sleep(for: .milliseconds(300))
            stop.set()
            let responses = try await traffic.value
            #expect(sawStale, "readiness reported the refused files with their location")
            #expect(responses.count >= 8, "the four clients kept calling through the reloads")
            #expect(responses.allSatisfy { $0.0 == 200 || $0.0 == 403 }, "no request failed because of a reload: \(Set(responses.map(\.0)))")
            #expect(responses.contains { $0.0 == 200 } && responses.contains { $0.0 == 403 })

            // Each answer matches the decision recorded for it, made by one of the two whole sets.
            var recorded: [String: AuthorizationDecisionRecord] = [:]
            for _ in 0..<100 {
                for record in try await gateway.gateway.store.recentDecisions(limit: 100_000, deniedOnly: false) { recorded[record.requestId] = record }
                if responses.allSatisfy({ recorded[$0.1] != nil }) { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            var mismatched = 0
            for (status, requestId) in responses {
                guard let record = recorded[requestId] else { mismatched += 1; continue }
                let bySet = record.policySet == grantDigest ? true : (record.policySet == revokeDigest ? false : nil)
                if bySet != record.allowed || record.allowed != (status == 200) { mismatched += 1 }
            }
            #expect(mismatched == 0)
        }
    }
}

/// A flag one task sets and others poll.
final class Flag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
