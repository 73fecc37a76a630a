import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
@testable import PortcullisCore
import Testing

@Suite("The portcullis command line")
struct CLITests {
    static let binary = ExternalProcess.portcullisBinary

    @Test("--help works on every command", .enabled(if: binary != nil, "build the portcullis product first (swift build --build-tests)"))
    func help() async throws {
        let binary = try #require(Self.binary)
        let commands = [
            [], ["serve"], ["dev"], ["login"], ["logout"], ["invoke"], ["apikey"], ["apikey", "create"], ["apikey", "list"], ["apikey", "revoke"], ["accesskey"],
            ["accesskey", "create"], ["accesskey", "list"], ["accesskey", "revoke"], ["keys"], ["keys", "generate"], ["echo-agent"],
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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["dev", "--listen", "127.0.0.1:0", "--data", directory.path + "/state", "--log-level", "warning"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
        }
        let stateFile = directory.path + "/state/dev.json"
        let deadline = ContinuousClock.now + .seconds(60)
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
        var banner = ""
        while !banner.contains("-d '{\"prompt\": \"hello\"}'") {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { break }
            banner += String(decoding: chunk, as: UTF8.self)
        }
        let lines = banner.components(separatedBy: "\n")
        let start = try #require(lines.firstIndex { $0.trimmingCharacters(in: .whitespaces).hasPrefix("curl ") })
        let command = lines[start...].prefix { !$0.isEmpty }.joined(separator: "\n")
        #expect(command.contains(endpoint))
        let invoked = try await ExternalProcess.run("/bin/sh", ["-c", command])
        #expect(invoked.status == 0)
        let reply = try TestGateway.json(invoked.output)
        #expect((reply["echo"] as? [String: String])?["prompt"] == "hello")

        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationReason == .exit, "SIGTERM shuts the gateway down gracefully")
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
        let dev = try RunningProcess(binary, ["dev", "--listen", "127.0.0.1:0", "--data", data, "--log-level", "warning"])
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
}
