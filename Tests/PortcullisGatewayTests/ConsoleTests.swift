import Foundation
import NIOHTTP1
@testable import PortcullisCore
@testable import PortcullisGateway
import PortcullisIdentity
import PortcullisPolicy
import PortcullisSessions
import PortcullisStore
import Testing

/// The admin console: sign-in, Cedar authorization per page, escaping, the form token, audit paging, the policy
/// page and the playground (HTTP level), and the whole flow in a real headless Chromium.
@Suite("Admin console")
struct ConsoleTests {
    /// Signs `user` in through the console's own sign-in link for `path`; returns the session cookie's value.
    static func signIn(_ browser: TestBrowser, _ gateway: TestGateway, user: String, at path: String = "/console") async throws -> String {
        let offer = try await browser.get(gateway.baseURL + path)
        #expect(offer.status == 401, "not signed in: \(offer.body)")
        let href = try #require(offer.body.slice(from: "<a href=\"/auth/login?", to: "\"")).htmlUnescaped
        let login = try await browser.get(gateway.baseURL + "/auth/login?" + href)
        let page = try await browser.get(try #require(login.location))
        let (action, fields) = try TestBrowser.form(in: page.body, forUser: user)
        let chosen = try await browser.post(gateway.baseURL + action, form: fields)
        let callback = try await browser.get(try #require(chosen.location))
        #expect(callback.location == path, "the sign-in returns to the page asked for")
        let cookie = try #require(callback.headers["Set-Cookie"].first { $0.hasPrefix("portcullis_session=") })
        return String(cookie.dropFirst("portcullis_session=".count).prefix { $0 != ";" })
    }

    /// The rows of the page's first table body.
    static func rows(_ html: String) -> [String] {
        guard let body = html.slice(from: "<tbody>", to: "</tbody>") else { return [] }
        return body.components(separatedBy: "<tr>").dropFirst().map { $0 }
    }

    @Test("sign-in returns to the page; a user the policies do not admit is refused (and audited); values are escaped; forms need their token and origin")
    func accessAndForms() async throws {
        try await TestGateway.runDevelopment { gateway in try await TestBrowser.with { (alice: TestBrowser) async throws in
            try await TestBrowser.with { (bob: TestBrowser) async throws in
                let hostile = "<script>alert(1)</script>"
                let arn = try await gateway.registerAgent(name: "support_bot", url: "http://127.0.0.1:9/", tags: ["note": hostile])
                let runtimeId = try #require(arn.split(separator: "/").last.map(String.init))

                _ = try await Self.signIn(alice, gateway, user: "alice", at: "/console/audit?kind=session.started")
                let refused = try await alice.get(gateway.baseURL + "/console/audit?kind=session.started")
                #expect(refused.status == 403 && refused.body.contains("Not authorized"), "\(refused.body)")
                #expect(!refused.body.contains("<table"), "nothing of the audit log is shown")
                await gateway.gateway.audit.flush()
                let denials = try await gateway.gateway.store.auditRecords(AuditQuery(kinds: [.authorizationDenied]))
                #expect(denials.contains { $0.event.action == "GetAuditLog" && $0.event.principal?.hasSuffix("|alice") == true }, "\(denials.map(\.event))")

                let cookie = try await Self.signIn(bob, gateway, user: "bob")
                let agents = try await bob.get(gateway.baseURL + "/console")
                #expect(agents.status == 200)
                #expect(agents.headers.first(name: "Content-Security-Policy")?.hasPrefix("default-src 'none'") == true)
                #expect(agents.body.contains("<a href=\"/console/agents/\(runtimeId)\">support_bot</a>"), "\(agents.body)")
                let detail = try await bob.get(gateway.baseURL + "/console/agents/\(runtimeId)")
                #expect(detail.status == 200 && detail.body.contains("note=&lt;script&gt;alert(1)&lt;/script&gt;"), "\(detail.body)")
                #expect(!detail.body.contains(hostile))
                #expect(try await bob.get(gateway.baseURL + "/console/agents/nope").status == 400)
                #expect(try await bob.get(gateway.baseURL + "/console/agents/missing-0123456789").status == 404)

                let stop = gateway.baseURL + "/console/sessions/stop"
                let fields = [("agentRuntimeId", runtimeId), ("runtimeSessionId", String(repeating: "s", count: 40))]
                let token = ConsoleForms.token(forCookie: cookie)
                let withoutToken = try await bob.post(stop, form: fields)
                #expect(withoutToken.status == 403 && withoutToken.body.contains("did not come from this console"), "\(withoutToken.body)")
                let wrongToken = try await bob.post(stop, form: fields + [(ConsoleForms.tokenField, ConsoleForms.token(forCookie: "another"))])
                #expect(wrongToken.status == 403)
                let crossSite = try await bob.post(stop, form: fields + [(ConsoleForms.tokenField, token)], headers: [("Origin", "http://evil.example")])
                #expect(crossSite.status == 403 && crossSite.body.contains("not sent from this gateway"), "\(crossSite.body)")
                let anonymous = try await alice.post(stop, form: fields + [(ConsoleForms.tokenField, token)], cookies: false)
                #expect(anonymous.status == 401, "a form without a session gets the sign-in page")
                let aliceToken = try await alice.post(stop, form: fields + [(ConsoleForms.tokenField, token)])
                #expect(aliceToken.status == 403, "another session's token is refused")
                // The right token from this gateway's origin gets through to the session lookup.
                let accepted = try await bob.post(stop, form: fields + [(ConsoleForms.tokenField, token)], headers: [("Origin", gateway.baseURL)])
                #expect(accepted.status == 404 && accepted.body.contains("was not found"), "\(accepted.body)")
            }
        } }
    }

    @Test("audit search: newest first, filters, paging back by sequence, bad input refused")
    func auditSearch() async throws {
        try await TestGateway.runDevelopment { gateway in try await TestBrowser.with { (bob: TestBrowser) async throws in
            for index in 0..<60 {
                gateway.gateway.audit.record(
                    AuditEvent(time: Date(), kind: .credentialChange, principal: "tester", action: "Probe", outcome: "success", details: ["n": .number(Double(index))])
                )
            }
            _ = try await Self.signIn(bob, gateway, user: "bob")
            let first = try await bob.get(gateway.baseURL + "/console/audit?kind=credential.change&principal=tester")
            #expect(first.status == 200)
            let firstRows = Self.rows(first.body)
            #expect(firstRows.count == ConsoleController.auditRecordsPerPage)
            #expect(firstRows.first?.contains("{&quot;n&quot;:59}") == true, "newest first: \(firstRows.first ?? "")")
            #expect(firstRows.last?.contains("{&quot;n&quot;:10}") == true)
            let older = try #require(first.body.slice(from: "<a href=\"/console/audit?", to: "\">Older records")).htmlUnescaped
            #expect(older.contains("principal=tester") && older.contains("kind=credential.change"), "the filters carry over: \(older)")
            let second = try await bob.get(gateway.baseURL + "/console/audit?" + older)
            let secondRows = Self.rows(second.body)
            #expect(secondRows.count == 10 && secondRows.first?.contains("{&quot;n&quot;:9}") == true && secondRows.last?.contains("{&quot;n&quot;:0}") == true)
            #expect(!second.body.contains("Older records") && second.body.contains("Newest records"))

            let wrongKind = try await bob.get(gateway.baseURL + "/console/audit?kind=nonsense")
            #expect(wrongKind.status == 400 && wrongKind.body.contains("kind"), "\(wrongKind.body)")
            #expect(try await bob.get(gateway.baseURL + "/console/audit?since=yesterday").status == 400)
            #expect(try await bob.get(gateway.baseURL + "/console/audit?before=-3").status == 400)
            #expect(try await bob.get(gateway.baseURL + "/console/audit?principal=" + String(repeating: "x", count: 2000)).status == 400)
        } }
    }

    @Test("policy page: the set in force and a refused edit's problems; playground: allowed, forbidden and default-deny answers with their policies")
    func policiesAndPlayground() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let forbid = """
            @id("nobody-deletes-everything")
            forbid (principal, action == Action::"CallTool", resource)
            when { context has mcp && context.mcp has tool && context.mcp.tool == "delete_everything" };
            """
        let policies = try makePolicyDirectory(["guardrails.cedar": forbid], withAgents: true, in: directory)
        try await TestGateway.runDevelopment(configure: { $0.policies.directory = policies }) { gateway in
            try await TestBrowser.with { (bob: TestBrowser) async throws in
                let arn = try await gateway.registerAgent(name: "granted", url: "http://127.0.0.1:9/", protocol: .mcp, tags: ["portcullis:groups": "agents-users"])
                let runtimeId = try #require(arn.split(separator: "/").last.map(String.init))
                _ = try await Self.signIn(bob, gateway, user: "bob")

                let page = try await bob.get(gateway.baseURL + "/console/policies")
                #expect(page.status == 200)
                #expect(page.body.contains("<code>administrators-use-the-control-plane</code>") && page.body.contains("administrators.cedar:3:1"), "\(page.body)")
                #expect(page.body.contains("guardrails.cedar:1:1") && page.body.contains("The directory&#39;s files are the set in force"))
                let digest = gateway.gateway.policies.status.activeDigest
                try "permit (principal, action, resource) when { principal.nope".write(toFile: policies + "/broken.cedar", atomically: true, encoding: .utf8)
                _ = gateway.gateway.policies.reload()
                let refused = try await bob.get(gateway.baseURL + "/console/policies")
                #expect(refused.body.contains("<h2>Problems</h2>") && refused.body.contains("<code>broken.cedar</code>"), "\(refused.body)")
                #expect(refused.body.contains(digest), "the previous set stays in force")
                try FileManager.default.removeItem(atPath: policies + "/broken.cedar")
                _ = gateway.gateway.policies.reload()

                func ask(_ query: String) async throws -> TestBrowser.Page {
                    try await bob.get(gateway.baseURL + "/console/playground?" + query + "&agent=\(runtimeId)")
                }
                let member = try await ask("who=user&issuer=dev&subject=alice&groups=agents-users&action=InvokeAgent")
                #expect(member.body.contains("<p class=\"allowed\">Allowed:") && member.body.contains("<code>users-use-agents-granted-to-their-groups</code>"), "\(member.body)")
                let outsider = try await ask("who=user&issuer=dev&subject=carol&action=InvokeAgent")
                #expect(outsider.body.contains("<p class=\"denied\">Denied:") && outsider.body.contains("denied by default"), "\(outsider.body)")
                let keyId = try #require(APIKeyFormat.keyId(of: gateway.invokeKey))
                let key = try await ask("who=apikey&apiKeyId=\(keyId)&action=CallTool&tool=search")
                #expect(key.body.contains("Allowed:") && key.body.contains("<code>api-keys-use-their-agents</code>"), "\(key.body)")
                let forbidden = try await ask("who=apikey&apiKeyId=\(keyId)&action=CallTool&tool=delete_everything")
                #expect(forbidden.body.contains("Denied:") && forbidden.body.contains("Forbidden by:") && forbidden.body.contains("<code>nobody-deletes-everything</code>"))
                #expect(forbidden.body.contains("guardrails.cedar:1:1"), "the policy's place is shown")

                #expect(try await ask("who=apikey&apiKeyId=\(keyId)&action=CallTool").status == 400, "CallTool needs a tool")
                #expect(try await ask("who=user&issuer=dev&subject=alice&action=InvokeAgent&sourceIp=10.0.0.999").status == 400)
                #expect(try await ask("who=user&issuer=dev&subject=alice&action=CreateAgentRuntime").status == 400)
                #expect(try await ask("who=user&issuer=nowhere&subject=alice&action=InvokeAgent").status == 400)
                #expect(try await ask("who=apikey&apiKeyId=unknown&action=InvokeAgent").status == 404)
            }
        }
    }

    @Test(
        "in headless Chromium: sign in, see a session appear after an invocation, stop it, find the audit entries, ask the playground",
        .enabled(if: canRunSandboxes, "needs root and bubblewrap (apt-get install bubblewrap)"),
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver"), "needs Chromium and its driver: apt-get install chromium chromium-driver"),
        .enabled(if: ExternalProcess.python != nil, "needs a Python with selenium: run ./scripts/test.sh, or set PORTCULLIS_TEST_PYTHON")
    )
    func headlessChromium() async throws {
        let python = try #require(ExternalProcess.python)
        let script = packageRoot.appendingPathComponent("Tests/interop/console_browser.py").path
        try await TestGateway.runDevelopment(configure: { SandboxTests.declareProbe(in: &$0) }) { gateway in
            let arn = try #require(try await gateway.gateway.runtimeARN(named: "probe"))
            let runtimeId = try #require(arn.split(separator: "/").last.map(String.init))
            let session = SandboxTests.session("b")
            let result = try await ExternalProcess.run(python, [script, gateway.baseURL, gateway.invocationURL(arn), gateway.invokeKey, runtimeId, session])
            #expect(result.status == 0, "\(result.output)\n\(result.error)")
            #expect(result.output.contains("OK signing out ends the console session"), "\(result.output)")
            // What the browser saw is what the store holds.
            await gateway.gateway.audit.flush()
            let changes = try await gateway.gateway.store.auditRecords(AuditQuery(kinds: [.controlPlaneChange], agentRuntimeId: runtimeId))
            let stop = try #require(changes.first { $0.event.action == "TerminateSession" })
            #expect(stop.event.principal == "http://127.0.0.1:\(gateway.port)/dev-idp|bob" && stop.event.details["runtimeSessionId"]?.stringValue == session)
            #expect(try await gateway.gateway.store.latestSession(runtimeId: runtimeId, sessionId: session)?.endReason == "stopped")
            #expect(gateway.gateway.sessions.sandboxes?.count == 0)
        }
    }
}
