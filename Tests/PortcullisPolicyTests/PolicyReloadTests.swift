import Cedar
import Foundation
import Testing
@testable import PortcullisPolicy

@Suite("Reloading a policy directory")
struct PolicyReloadTests {
    static let grant = #"@id("grant") permit (principal is User, action == Action::"InvokeAgent", resource == Agent::"lab");"#
    static let revoke = #"@id("revoke") forbid (principal is User, action == Action::"InvokeAgent", resource == Agent::"lab");"#

    @Test("a changed directory is activated; a broken one keeps the last good set and is reported once")
    func reloadKeepsLastGood() throws {
        let directory = try PolicyFixtures.directory(["lab.cedar": Self.grant])
        defer { try? FileManager.default.removeItem(at: directory) }
        let policies = try PolicyDirectory(path: directory.path)
        let request = PolicyFixtures.request(PolicyFixtures.user("eve"), .invokeAgent, PolicyFixtures.agent("lab"))
        #expect(policies.engine.authorize(request).isAllowed)
        #expect(policies.reload() == .unchanged)

        try (Self.grant + "\n" + Self.revoke).write(to: directory.appendingPathComponent("lab.cedar"), atomically: true, encoding: .utf8)
        guard case .activated(let digest) = policies.reload() else { Issue.record("expected the new set to be activated"); return }
        #expect(policies.status.activeDigest == digest)
        #expect(policies.engine.authorize(request).determiningPolicies == ["revoke"])

        try "forbid (principal, action, resource) when {".write(to: directory.appendingPathComponent("broken.cedar"), atomically: true, encoding: .utf8)
        guard case .refused(let problems) = policies.reload() else { Issue.record("expected the broken set to be refused"); return }
        #expect(problems.count == 1)
        #expect(problems[0].file == "broken.cedar")
        #expect(problems[0].line == 1)
        #expect(!policies.status.isCurrent)
        #expect(policies.status.refusedSince != nil)
        #expect(policies.status.activeDigest == digest)
        #expect(policies.engine.authorize(request).determiningPolicies == ["revoke"], "the last good set is still in force")
        #expect(policies.reload() == .unchanged, "polling does not report the same broken files again")
        #expect(policies.reload(force: true) == .refused(problems), "a forced reload reports them again")

        try FileManager.default.removeItem(at: directory.appendingPathComponent("broken.cedar"))
        #expect(policies.reload() == .unchanged)
        #expect(policies.status.isCurrent)
    }

    @Test("a directory that does not compile stops the start")
    func brokenAtStart() throws {
        let directory = try PolicyFixtures.directory(["broken.cedar": "permit"])
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(throws: PolicyLoadFailure.self) { try PolicyDirectory(path: directory.path) }
        #expect(throws: PolicyLoadFailure.self) { try PolicyDirectory(path: directory.path + "/missing") }
    }

    @Test("decisions made during reloads each come from one whole set")
    func concurrentReloads() async throws {
        let directory = try PolicyFixtures.directory(["lab.cedar": Self.grant])
        defer { try? FileManager.default.removeItem(at: directory) }
        let policies = try PolicyDirectory(path: directory.path)
        let grantDigest = policies.status.activeDigest
        let file = directory.appendingPathComponent("lab.cedar")
        try (Self.grant + "\n" + Self.revoke).write(to: file, atomically: true, encoding: .utf8)
        policies.reload()
        let revokeDigest = policies.status.activeDigest
        let request = PolicyFixtures.request(PolicyFixtures.user("eve"), .invokeAgent, PolicyFixtures.agent("lab"))

        let (decisions, inconsistent) = await withTaskGroup(of: (Int, Int).self) { group in
            group.addTask {
                for round in 0..<60 {
                    let text = round % 3 == 2 ? "permit (" : (round % 2 == 0 ? Self.grant : Self.grant + "\n" + Self.revoke)
                    try? text.write(to: file, atomically: true, encoding: .utf8)
                    policies.reload()
                }
                return (0, 0)
            }
            for _ in 0..<4 {
                group.addTask {
                    var made = 0
                    var wrong = 0
                    for _ in 0..<2_000 {
                        let decision = policies.engine.authorize(request)
                        made += 1
                        // Each set gives exactly one answer; a mix of the two would show as a mismatch.
                        let expected = decision.policySetDigest == grantDigest
                            ? (true, ["grant"]) : (false, ["revoke"])
                        let known = decision.policySetDigest == grantDigest || decision.policySetDigest == revokeDigest
                        if !known || decision.isAllowed != expected.0 || decision.determiningPolicies != expected.1 { wrong += 1 }
                    }
                    return (made, wrong)
                }
            }
            var total = (0, 0)
            for await result in group { total = (total.0 + result.0, total.1 + result.1) }
            return total
        }
        #expect(decisions == 8_000)
        #expect(inconsistent == 0)
    }
}
