import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
@testable import PortcullisCore
import PortcullisStore
import PortcullisVault
import Testing

@Suite("The portcullis command line")
struct CLITests {
    static let binary = ExternalProcess.portcullisBinary

    @Test("--help works on every command", .enabled(if: binary != nil, "build the portcullis product first (swift build --build-tests)"))
    func help() async throws {
        let binary = try #require(Self.binary)
        let commands = [
            [], ["serve"], ["dev"], ["login"], ["logout"], ["invoke"], ["apikey"], ["apikey", "create"], ["apikey", "list"], ["apikey", "revoke"], ["accesskey"],
            ["accesskey", "create"], ["accesskey", "list"], ["accesskey", "revoke"], ["keys"], ["keys", "generate"], ["keys", "rotate"], ["keys", "rewrap"], ["echo-agent"],
            ["policy"], ["policy", "validate"], ["policy", "test"], ["policy", "explain"],
        ]
        for command in commands {
            let result = try await ExternalProcess.run(binary, command + ["--help"])
            #expect(result.status == 0, "\(command)")
            #expect(result.output.contains("USAGE:"), "\(command)")
        }
    }

    @Test("apikey create, list and revoke against a data directory", .enabled(if: binary != nil, "build the portcullis product first"))
    func apiKeys() async throws {
        let binary = try #require(Self.binary)
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let created = try await ExternalProcess.run(binary, ["apikey", "create", "--data", directory.path, "--name", "ci", "--agent", "echo", "--expires-in", "30d", "--json"])
        #expect(created.status == 0, "\(created.error)")
        let key = try TestGateway.json(created.output)
        let id = try #require(key["id"] as? String)
        #expect((key["apiKey"] as? String)?.hasPrefix("pcs_\(id)_") == true)
        #expect(key["agents"] as? [String] == ["echo"])
        #expect(key["expiresAt"] as? String != nil)

        let listed = try await ExternalProcess.run(binary, ["apikey", "list", "--data", directory.path, "--json"])
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [[String: Any]])
        #expect(entries.count == 1)
        #expect(entries.first?["status"] as? String == "active")
        #expect(!listed.output.contains(key["apiKey"] as! String), "a listing never shows the secret")

        let table = try await ExternalProcess.run(binary, ["apikey", "list", "--data", directory.path])
        #expect(table.output.contains(id))
        #expect(try await ExternalProcess.run(binary, ["apikey", "revoke", "--data", directory.path, id]).status == 0)
        let after = try await ExternalProcess.run(binary, ["apikey", "list", "--data", directory.path, "--json"])
        #expect(after.output.contains("\"revoked\""))
        #expect(try await ExternalProcess.run(binary, ["apikey", "revoke", "--data", directory.path, "zzzzzzzzzzzz"]).status != 0)
        let invalid = try await ExternalProcess.run(binary, ["apikey", "create", "--data", directory.path, "--name", "x", "--agent", "bad-name"])
        #expect(invalid.status != 0)
        #expect(invalid.error.contains("bad-name"))

        // Both changes are in the audit log, by the OS user, without the secret.
        let audit = try await ExternalProcess.run(binary, ["audit", "query", "--data", directory.path, "--kind", "credential.change", "--json"])
        let events = try audit.output.split(separator: "\n").map { try TestGateway.json(String($0)) }
        #expect(events.map { $0["action"] as? String } == ["CreateApiKey", "RevokeApiKey"], "\(audit.output)\(audit.error)")
        #expect(events.allSatisfy { ($0["details"] as? [String: Any])?["credentialId"] as? String == id && ($0["principal"] as? String)?.hasPrefix("os-user:") == true })
        #expect(!audit.output.contains(key["apiKey"] as! String))
    }

    @Test("keys generate, then accesskey create, list and revoke; no key ring, no access keys", .enabled(if: binary != nil, "build the portcullis product first"))
    func accessKeys() async throws {
        let binary = try #require(Self.binary)
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let sealed = try await ExternalProcess.run(binary, ["accesskey", "create", "--data", directory.path, "--name", "ci", "--admin"])
        #expect(sealed.status != 0)
        #expect(sealed.error.contains("portcullis keys generate"))

        let generated = try await ExternalProcess.run(binary, ["keys", "generate", "--data", directory.path])
        #expect(generated.status == 0, "\(generated.error)")
        #expect(generated.output.contains("Key version 1"))
        #expect(FileManager.default.fileExists(atPath: directory.path + "/keys/kek-1.key"))

        let created = try await ExternalProcess.run(binary, ["accesskey", "create", "--data", directory.path, "--name", "ci", "--admin", "--act-for-users", "--json"])
        #expect(created.status == 0, "\(created.error)")
        let key = try TestGateway.json(created.output)
        let id = try #require(key["accessKeyId"] as? String)
        let secret = try #require(key["secretAccessKey"] as? String)
        #expect(id.hasPrefix("PCAK") && id.count == 20 && secret.count == 40)
        #expect(key["actForUsers"] as? Bool == true && key["admin"] as? Bool == true)
        let database = try Data(contentsOf: URL(fileURLWithPath: directory.path + "/portcullis.sqlite"))
        #expect(database.range(of: Data(secret.utf8)) == nil, "no plaintext secret in the database file")

        let listed = try await ExternalProcess.run(binary, ["accesskey", "list", "--data", directory.path])
        #expect(listed.output.contains(id) && !listed.output.contains(secret))
        #expect(try await ExternalProcess.run(binary, ["accesskey", "revoke", "--data", directory.path, id]).status == 0)
        let after = try await ExternalProcess.run(binary, ["accesskey", "list", "--data", directory.path, "--json"])
        #expect(after.output.contains("\"revoked\""))
    }

    @Test("keys rotate writes a newer key and re-wraps every secret with it; the old key can then go", .enabled(if: binary != nil, "build the portcullis product first"))
    func keyRotation() async throws {
        let binary = try #require(Self.binary)
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        #expect(try await ExternalProcess.run(binary, ["keys", "generate", "--data", directory.path]).status == 0)
        let created = try await ExternalProcess.run(binary, ["accesskey", "create", "--data", directory.path, "--name", "ci", "--admin", "--json"])
        let secret = try #require(try TestGateway.json(created.output)["secretAccessKey"] as? String)
        let store = try SQLiteStore(path: directory.path + "/portcullis.sqlite", logger: testLogger)
        let firstRing = try KeyRing.load(directory: directory.path + "/keys", environment: [:])
        let providers = CredentialProviders(store: store, keyRing: firstRing, clock: SystemWallClock(), logger: testLogger)
        _ = try await providers.create(name: "search", kind: .apiKey, secret: "the-search-key", tags: [:])

        let rotated = try await ExternalProcess.run(binary, ["keys", "rotate", "--data", directory.path])
        #expect(rotated.status == 0, "\(rotated.error)")
        #expect(rotated.output.contains("Key version 2"))
        #expect(rotated.output.contains("Re-wrapped 2 secrets with key version 2; 0 already were."), "\(rotated.output)")
        let again = try await ExternalProcess.run(binary, ["keys", "rewrap", "--data", directory.path])
        #expect(again.output.contains("Re-wrapped 0 secrets with key version 2; 2 already were."), "\(again.output)")

        // With key 1 gone, both secrets still open: they are wrapped by key 2 alone.
        try FileManager.default.removeItem(atPath: directory.path + "/keys/kek-1.key")
        let secondRing = try KeyRing.load(directory: directory.path + "/keys", environment: [:])
        #expect(secondRing.versions == [2])
        let reader = CredentialProviders(store: store, keyRing: secondRing, clock: SystemWallClock(), logger: testLogger)
        #expect(try reader.secret(of: try await reader.provider(kind: .apiKey, name: "search")) == "the-search-key")
        let accessKey = try #require(try await store.accessKeys().first)
        #expect(String(decoding: try secondRing.open(accessKey.sealedSecret, context: AccessKeyRecord.sealingContext(id: accessKey.id)), as: UTF8.self) == secret)
        let audited = try await store.auditRecords(AuditQuery(kinds: [.credentialChange], limit: 10)).compactMap(\.event.action)
        #expect(audited.contains("RewrapSecrets"))
    }

    @Test("serve refuses a broken configuration with the key at fault", .enabled(if: binary != nil, "build the portcullis product first"))
    func serveRejectsBadConfiguration() async throws {
        let binary = try #require(Self.binary)
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let file = directory.path + "/portcullis.yaml"
        try "server:\n  listen: 127.0.0.1:0\n  colour: blue\n".write(toFile: file, atomically: true, encoding: .utf8)
        let result = try await ExternalProcess.run(binary, ["serve", "--config", file])
        #expect(result.status != 0)
        #expect(result.error.contains("server.colour"))
    }

    @Test("dev writes dev.json and prints a curl that invokes the echo agent", .enabled(if: binary != nil, "build the portcullis product first"))
    func dev() async throws {
        let binary = try #require(Self.binary)
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        // With sandboxes, dev also deploys the SDK example agents (their requirements from the test wheelhouse).
        let examples = canRunSandboxes && FileManager.default.fileExists(atPath: ExampleAgentTests.wheelhouse)
        let process = try RunningProcess(
            binary,
            ["dev", "--listen", "127.0.0.1:0", "--data", directory.path + "/state", "--log-level", "warning"]
                + (examples ? ["--wheels", ExampleAgentTests.wheelhouse] : ["--examples", ""])
        )
        defer { process.terminate() }
        let stateFile = directory.path + "/state/dev.json"
        let deadline = ContinuousClock.now + .seconds(examples ? 240 : 60)
        while !FileManager.default.fileExists(atPath: stateFile), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        let state = try TestGateway.json(try String(contentsOfFile: stateFile, encoding: .utf8))
        let endpoint = try #require(state["endpoint"] as? String)
        let arn = try #require(state["agentRuntimeArn"] as? String)
        #expect(arn.hasPrefix("arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/echo-"))
        #expect((state["agents"] as? [String: String])?["echo"] == arn)
        #expect((state["apiKey"] as? String)?.hasPrefix("pcs_") == true)
        #expect((state["adminAccessKeyId"] as? String)?.hasPrefix("PCAK") == true)
        #expect((state["adminSecretAccessKey"] as? String)?.count == 40)
        let permissions = try FileManager.default.attributesOfItem(atPath: stateFile)[.posixPermissions] as? Int
        #expect(permissions == 0o600, "dev.json holds a key")

        // Read the banner up to the curl command and run it exactly as printed.
        let banner = try await process.waitFor(#"(?s)(.*-d '\{"prompt": "hello"\}')"#)
        let lines = banner.components(separatedBy: "\n")
        let start = try #require(lines.firstIndex { $0.trimmingCharacters(in: .whitespaces).hasPrefix("curl ") })
        let command = lines[start...].prefix { !$0.isEmpty }.joined(separator: "\n")
        #expect(command.contains(endpoint))
        let invoked = try await ExternalProcess.run("/bin/sh", ["-c", command])
        #expect(invoked.status == 0)
        let reply = try TestGateway.json(invoked.output)
        #expect((reply["echo"] as? [String: String])?["prompt"] == "hello")

        if examples {
            let agents = try #require(state["agents"] as? [String: String])
            #expect(agents["mcp_server"]?.contains(":runtime/mcp_server-") == true, "\(agents)")
            let sdkAgent = try #require(agents["http_agent"])
            let session = "dev-session-" + String(repeating: "7", count: 30)
            let called = try await ExternalProcess.run("/usr/bin/curl", [
                "-sS", "-X", "POST", "\(endpoint)/runtimes/\(PercentEncoding.encodeSegment(sdkAgent))/invocations",
                "-H", "Authorization: Bearer \(try #require(state["apiKey"] as? String))", "-H", "Content-Type: application/json",
                "-H", "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id: \(session)", "-d", #"{"prompt": "from dev"}"#,
            ])
            let sdkReply = try TestGateway.json(called.output)
            #expect(sdkReply["sessionId"] as? String == session, "\(called.output)")
            #expect((sdkReply["echo"] as? [String: String])?["prompt"] == "from dev")
            let a2aAgent = try #require(agents["a2a_agent"])
            let card = try await ExternalProcess.run("/usr/bin/curl", [
                "-sS", "\(endpoint)/runtimes/\(PercentEncoding.encodeSegment(a2aAgent))/invocations/.well-known/agent-card.json",
                "-H", "Authorization: Bearer \(try #require(state["apiKey"] as? String))",
            ])
            #expect(try TestGateway.json(card.output)["name"] as? String == "portcullis-a2a-example", "\(card.output)")
        }

        #expect(process.terminate() == 0, "SIGTERM shuts the gateway down gracefully: \(process.output.suffix(2000))")
    }

    @Test(
        "portcullis login (browser redirect to a loopback port, and the device flow), invoke with the kept token, logout",
        .enabled(if: binary != nil, "build the portcullis product first")
    )
    func loginAndInvoke() async throws {
        let binary = try #require(Self.binary)
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let data = directory.path + "/state"
        let home = ["PORTCULLIS_HOME": directory.path + "/home"]
        let dev = try RunningProcess(binary, ["dev", "--listen", "127.0.0.1:0", "--data", data, "--log-level", "warning", "--examples", ""])
        defer { dev.terminate() }
        let endpoint = try await dev.waitFor(#"Portcullis dev gateway on (http://[0-9.:]+)"#, timeout: .seconds(60))
        let state = try TestGateway.json(try String(contentsOfFile: data + "/dev.json", encoding: .utf8))
        #expect(state["issuer"] as? String == endpoint + "/dev-idp")
        #expect((state["agents"] as? [String: String])?["echo_jwt"] != nil)

        // dev.json's bearer token works on the JWT runtime and nowhere else.
        let jwtARN = try #require((state["agents"] as? [String: String])?["echo_jwt"])
        let bearer = try #require(state["bearerToken"] as? String)
        try await TestBrowser.with { (browser: TestBrowser) async throws in
            var request = HTTPClientRequest(url: endpoint + "/runtimes/\(PercentEncoding.encodeSegment(jwtARN))/invocations")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(bearer)")
            request.body = .bytes(ByteBuffer(string: "{}"))
            #expect(try await browser.client.execute(request, timeout: .seconds(30)).status == .ok)

            // Browser sign-in from a terminal: the CLI prints the URL, the browser (this test) signs in as bob.
            let login = try RunningProcess(binary, ["login", "--gateway", endpoint, "--issuer", "dev"], environment: home)
            defer { login.terminate() }
            let url = try await login.waitFor(#"Open this URL to sign in: (\S+)"#)
            #expect(url.contains("client_id=portcullis-cli") && url.contains("code_challenge_method=S256"))
            let page = try await browser.get(url)
            let form = try TestBrowser.form(in: page.body, forUser: "bob")
            let callback = try #require(try await browser.post(endpoint + form.action, form: form.fields).location)
            #expect(callback.hasPrefix("http://127.0.0.1:"))
            #expect(try await browser.get(callback).status == 200)
            #expect(try await login.exitStatus() == 0, "\(login.output)")
            #expect(login.output.contains("Signed in to \(endpoint) through dev"))
            let tokens = directory.path + "/home/tokens.json"
            let permissions = try FileManager.default.attributesOfItem(atPath: tokens)[.posixPermissions] as? Int
            #expect(permissions == 0o600)
            #expect(!login.output.contains(try #require(try String(contentsOfFile: tokens, encoding: .utf8).slice(from: "\"accessToken\" : \"", to: "\""))), "the token is never printed")

            let invoked = try await ExternalProcess.run(binary, ["invoke", "--gateway", endpoint, "--data", data, "--agent", "echo_jwt", "--payload", #"{"prompt":"from the terminal"}"#], environment: home)
            #expect(invoked.status == 0, "\(invoked.error)")
            #expect((try TestGateway.json(invoked.output)["echo"] as? [String: String])?["prompt"] == "from the terminal")
            let refused = try await ExternalProcess.run(binary, ["invoke", "--gateway", endpoint, "--data", data, "--agent", "echo"], environment: home)
            #expect(refused.status != 0 && refused.error.contains("AccessDeniedException"), "the API-key runtime refuses tokens")

            // The device flow: the CLI shows a code, the user approves it elsewhere.
            let device = try RunningProcess(binary, ["login", "--gateway", endpoint, "--issuer", "dev", "--device"], environment: home)
            defer { device.terminate() }
            let code = try await device.waitFor(#"confirm the code ([A-Z]{4}-[A-Z]{4})"#)
            let approved = try await browser.post(endpoint + "/dev-idp/device", form: [("user_code", code), ("user", "carol")])
            #expect(approved.status == 200)
            #expect(try await device.exitStatus() == 0, "\(device.output)")
            let asCarol = try await ExternalProcess.run(binary, ["invoke", "--gateway", endpoint, "--data", data, "--agent", jwtARN], environment: home)
            #expect(asCarol.status == 0, "\(asCarol.error)")

            let logout = try await ExternalProcess.run(binary, ["logout", "--gateway", endpoint], environment: home)
            #expect(logout.output.contains("Signed out"))
            let after = try await ExternalProcess.run(binary, ["invoke", "--gateway", endpoint, "--data", data, "--agent", "echo_jwt"], environment: home)
            #expect(after.status != 0 && after.error.contains("portcullis login"))
        }
    }

    @Test("policy validate: the shipped set is valid; a broken one names file, line and column", .enabled(if: binary != nil, "build the portcullis product first"))
    func policyValidate() async throws {
        let binary = try #require(Self.binary)
        let shipped = try await ExternalProcess.run(binary, ["policy", "validate", shippedPolicies])
        #expect(shipped.status == 0, "\(shipped.error)")
        #expect(shipped.output.contains("11 policies in 3 files, valid"))
        #expect(shipped.output.contains("validated against schema.cedarschema"))

        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let path = try makePolicyDirectory([
            "typo.cedar": "@id(\"typo\")\npermit (principal is User, action == Action::\"InvokeAgent\", resource)\nwhen { principal.grups.contains(\"x\") };\n",
            "syntax.cedar": "permit (principal, action, resource)\n  when { context.time < };\n",
        ], in: directory)
        let broken = try await ExternalProcess.run(binary, ["policy", "validate", path])
        #expect(broken.status == 1)
        #expect(broken.error.contains("syntax.cedar:2:25: expected an expression, found '}'"), "\(broken.error)")
        #expect(broken.error.contains("typo.cedar:1:1: policy 'typo': attribute `grups` is not declared for User"), "\(broken.error)")
        #expect(broken.error.contains("2 problems; the gateway would keep its current policies"), "\(broken.error)")
    }

    @Test("policy test runs Cedar-format policy tests, fails on a wrong expectation, and prints JSON", .enabled(if: binary != nil, "build the portcullis product first"))
    func policyTest() async throws {
        let binary = try #require(Self.binary)
        let example = packageRoot.appendingPathComponent("examples/policy-tests/default-policies.json").path
        let passing = try await ExternalProcess.run(binary, ["policy", "test", example])
        #expect(passing.status == 0, "\(passing.output)\(passing.error)")
        #expect(passing.output.contains("PASS a key created for the support agent invokes it: allow [\"api-keys-use-their-agents\"]"))
        #expect(passing.output.contains("8 of 8 requests passed"))

        let json = try await ExternalProcess.run(binary, ["policy", "test", example, "--json"])
        let report = try TestGateway.json(json.output)
        #expect(report["passed"] as? Bool == true)
        let requests = try #require(report["requests"] as? [[String: Any]])
        #expect(requests.count == 8)
        #expect(requests[3]["reasons"] as? [String] == ["administrators-use-the-control-plane"])
        #expect(requests[1]["decision"] as? String == "deny")

        // The same test with one expectation turned around fails, and says how.
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        var text = try String(contentsOfFile: example, encoding: .utf8)
        text = text.replacingOccurrences(of: #""policies": "../../policies""#, with: #""policies": "\#(shippedPolicies)""#)
        text = text.replacingOccurrences(of: #""entities": "entities.json""#, with: #""entities": "\#(packageRoot.path)/examples/policy-tests/entities.json""#)
        text = text.replacingOccurrences(of: #""decision": "deny",\#n      "reason": [],\#n      "errors": []\#n    },\#n    {\#n      "description": "nor use"#, with: #""decision": "allow",\#n      "reason": [],\#n      "errors": []\#n    },\#n    {\#n      "description": "nor use"#)
        let wrong = directory.path + "/wrong.json"
        try text.write(toFile: wrong, atomically: true, encoding: .utf8)
        let failing = try await ExternalProcess.run(binary, ["policy", "test", wrong])
        #expect(failing.status == 1)
        #expect(failing.output.contains("FAIL the same key may not invoke another agent: decision deny, expected allow"), "\(failing.output)")
        #expect(failing.output.contains("7 of 8 requests passed"))
    }

    @Test(
        "serve reloads its policies on SIGHUP, keeps the last good set on a broken one, and policy explain tells why",
        .enabled(if: binary != nil, "build the portcullis product first")
    )
    func policyReloadAndExplain() async throws {
        let binary = try #require(Self.binary)
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let policies = try makePolicyDirectory([:], withAgents: true, in: directory)
        let echoPort = try RefusingPort.free()
        let echo = try RunningProcess(binary, ["echo-agent", "--listen", "127.0.0.1:\(echoPort)"])
        defer { echo.terminate() }
        _ = try await echo.waitFor("(echo agent listening)")
        let port = try RefusingPort.free()
        let config = directory.path + "/portcullis.yaml"
        try """
            server:
              listen: 127.0.0.1:\(port)
            store:
              dataDirectory: \(directory.path)/state
            policies:
              directory: \(policies)
              reloadIntervalSeconds: 0
            agents:
              - name: echo
                endpoint: http://127.0.0.1:\(echoPort)
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let created = try await ExternalProcess.run(binary, ["apikey", "create", "--config", config, "--name", "ci", "--agent", "echo", "--json"])
        #expect(created.status == 0, "\(created.error)")
        let key = try #require(try TestGateway.json(created.output)["apiKey"] as? String)
        let admin = try await ExternalProcess.run(binary, ["apikey", "create", "--config", config, "--name", "ops", "--admin", "--json"])
        let adminKey = try #require(try TestGateway.json(admin.output)["apiKey"] as? String)
        let serve = try RunningProcess(binary, ["serve", "--config", config])
        defer { serve.terminate() }
        _ = try await serve.waitFor("(portcullis listening)", timeout: .seconds(60))
        let base = "http://127.0.0.1:\(port)"
        var listing = HTTPClientRequest(url: base + "/runtimes/")
        listing.method = .POST
        listing.headers.add(name: "Authorization", value: "Bearer \(adminKey)")
        let listed = try TestGateway.json(String(buffer: try await HTTPClient.shared.execute(listing, timeout: .seconds(10)).body.collect(upTo: 1 << 20)))
        let runtimes = try #require(listed["agentRuntimes"] as? [[String: Any]])
        let arn = try #require(runtimes.first?["agentRuntimeArn"] as? String)

        func invoke() async throws -> (status: Int, requestId: String) {
            var request = HTTPClientRequest(url: base + "/runtimes/\(PercentEncoding.encodeSegment(arn))/invocations")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(key)")
            request.body = .bytes(ByteBuffer(string: "{}"))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            return (Int(response.status.code), response.headers.first(name: "x-amzn-RequestId") ?? "")
        }
        #expect(try await invoke().status == 200)

        try #"@id("echo-closed") forbid (principal, action, resource == Agent::"echo");"#.write(toFile: policies + "/lockdown.cedar", atomically: true, encoding: .utf8)
        #expect(try await invoke().status == 200, "polling is off: nothing changes before the signal")
        kill(serve.processIdentifier, SIGHUP)
        _ = try await serve.waitFor("(policies reloaded)")
        let denied = try await invoke()
        #expect(denied.status == 403)

        try "permit (principal, action, resource) when { context.x ==".write(toFile: policies + "/broken.cedar", atomically: true, encoding: .utf8)
        kill(serve.processIdentifier, SIGHUP)
        _ = try await serve.waitFor(#""problem":"(broken\.cedar:1:\d+)"#)
        #expect(serve.output.contains("policy refused; the previous set stays in force"))
        let ready = try await HTTPClient.shared.execute(HTTPClientRequest(url: base + "/ready"), timeout: .seconds(10))
        let readiness = try TestGateway.json(String(buffer: try await ready.body.collect(upTo: 1 << 16)))
        let report = try #require(readiness["policies"] as? [String: Any])
        #expect(report["state"] as? String == "stale")
        #expect((report["errors"] as? [String])?.first?.hasPrefix("broken.cedar:1:") == true)
        #expect(try await invoke().status == 403, "the last good set is still in force")

        // The decision log is written within a second; explain reads it from the same store, and evaluates the
        // decision again with the directory as it is now when it compiles.
        try await Task.sleep(for: .seconds(2))
        let whileBroken = try await ExternalProcess.run(binary, ["policy", "explain", denied.requestId, "--config", config])
        #expect(whileBroken.output.contains("does not compile now — 1 problem"), "\(whileBroken.output)")
        try FileManager.default.removeItem(atPath: policies + "/broken.cedar")
        let explained = try await ExternalProcess.run(binary, ["policy", "explain", denied.requestId, "--config", config])
        #expect(explained.status == 0, "\(explained.error)")
        #expect(explained.output.contains("decision: deny"))
        #expect(explained.output.contains("policy echo-closed at lockdown.cedar:1:1:"), "\(explained.output)")
        #expect(explained.output.contains(#"forbid (principal, action, resource == Agent::"echo");"#))
        #expect(explained.output.contains("with the policies in force now"), "denials keep their entities, so they are evaluated again")
        let json = try TestGateway.json(try await ExternalProcess.run(binary, ["policy", "explain", denied.requestId, "--config", config, "--json"]).output)
        #expect(json["decision"] as? String == "deny")
        #expect((json["policies"] as? [[String: Any]])?.first?["id"] as? String == "echo-closed")
        let denials = try await ExternalProcess.run(binary, ["policy", "explain", "--config", config])
        #expect(denials.output.contains(denied.requestId))
        #expect(try await ExternalProcess.run(binary, ["policy", "explain", "nope", "--config", config]).status != 0)
    }
}
