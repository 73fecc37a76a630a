import Foundation
import Synchronization
import Glibc
import Hummingbird
import NIOCore
import NIOHTTP1
import PortcullisCore
import PortcullisStore
@testable import PortcullisGateway
import Testing

/// Agent code deployed through the control plane, from a local path, an HTTP URL and S3 (with boto3 and moto):
/// the status a deployment goes through, dependency layers built by pip, and failures a person can act on.
@Suite("Code deployed through the control plane", .enabled(if: canRunSandboxes, "needs root and bubblewrap (apt-get install bubblewrap)"))
struct CodeDeploymentTests {
    /// Files the deployments start from: the probe agent's code, a wheel for its requirements, zips.
    struct Fixtures {
        let root: String
        var wheels: String { root + "/wheels" }

        init(_ directory: TemporaryDirectory) throws {
            root = directory.path + "/sources"
            try FileManager.default.createDirectory(atPath: root + "/wheels", withIntermediateDirectories: true)
        }

        /// A copy of the probe agent at `root/name`, with a requirements file and extra files.
        func agent(_ name: String, requirements: String? = nil, files: [String: String] = [:]) throws -> String {
            let path = root + "/" + name
            try FileManager.default.copyItem(atPath: SandboxTests.probeAgent, toPath: path)
            if let requirements { try requirements.write(toFile: path + "/requirements.txt", atomically: true, encoding: .utf8) }
            for (file, content) in files { try content.write(toFile: path + "/" + file, atomically: true, encoding: .utf8) }
            return path
        }

        /// Writes a pure-Python wheel `portcullis_probe_dep` whose module holds `VALUE`.
        func wheel(version: String, value: String) async throws {
            let script = """
                import sys, zipfile
                wheels, version, value = sys.argv[1:4]
                name = "portcullis_probe_dep"
                info = f"{name}-{version}.dist-info"
                files = {
                    f"{name}/__init__.py": f"VALUE = {value!r}\\n",
                    f"{info}/METADATA": f"Metadata-Version: 2.1\\nName: portcullis-probe-dep\\nVersion: {version}\\n",
                    f"{info}/WHEEL": "Wheel-Version: 1.0\\nGenerator: portcullis-tests\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
                }
                files[f"{info}/RECORD"] = "".join(f"{path},,\\n" for path in files) + f"{info}/RECORD,,\\n"
                with zipfile.ZipFile(f"{wheels}/{name}-{version}-py3-none-any.whl", "w") as wheel:
                    for path, content in files.items():
                        wheel.writestr(path, content)
                """
            let result = try await ExternalProcess.run("/usr/bin/python3", ["-c", script, wheels, version, value])
            #expect(result.status == 0, "\(result.error)")
        }

        /// Zips a directory's contents (not the directory itself), as AgentCore code zips are laid out.
        static func zip(_ directory: String, to archive: String) async throws {
            let script = """
                import os, sys, zipfile
                source, archive = sys.argv[1:3]
                with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
                    for base, _, names in os.walk(source):
                        for name in names:
                            path = os.path.join(base, name)
                            z.write(path, os.path.relpath(path, source))
                """
            let result = try await ExternalProcess.run("/usr/bin/python3", ["-c", script, directory, archive])
            #expect(result.status == 0, "\(result.error)")
        }
    }

    /// A gateway that may deploy code from `fixtures.root` and `urlPrefixes`, installing wheels from the fixtures only.
    static func withGateway<T: Sendable>(
        _ fixtures: Fixtures,
        urlPrefixes: [String] = [],
        s3: S3Configuration = S3Configuration(),
        environment: @escaping @Sendable () -> [String: String] = { ProcessInfo.processInfo.environment },
        dataDirectory: String? = nil,
        _ body: (TestGateway) async throws -> T
    ) async throws -> T {
        try await TestGateway.run(environment: environment, configure: { configuration in
            if let dataDirectory { configuration.store = StoreConfiguration(dataDirectory: dataDirectory) }
            configuration.sandbox = SandboxConfiguration(driver: .bubblewrap, memoryMiB: 256, cpus: 0.5, maxProcesses: 64, writableMiB: 16, startTimeoutSeconds: 20)
            configuration.artifacts = ArtifactsConfiguration(
                localRoots: [fixtures.root],
                urlPrefixes: urlPrefixes,
                s3: s3,
                pip: PipConfiguration(findLinks: [fixtures.wheels], noIndex: true)
            )
        }, body)
    }

    static func create(_ gateway: TestGateway, name: String, code: [String: Any], entryPoint: [String] = ["main.py"]) async throws -> (status: Int, json: [String: Any]) {
        let body = try ControlPlaneTests.createBody(
            name: name,
            url: "http://127.0.0.1:9",
            extra: ["agentRuntimeArtifact": ["codeConfiguration": ["code": code, "runtime": "PYTHON_3_11", "entryPoint": entryPoint]]]
        )
        let response = try await gateway.send(.PUT, "\(gateway.baseURL)/runtimes/", body: body, key: gateway.adminKey)
        return (response.status, (try? TestGateway.json(response.body)) ?? ["raw": response.body])
    }

    static func update(_ gateway: TestGateway, id: String, code: [String: Any]) async throws -> [String: Any] {
        var body = try TestGateway.json(try ControlPlaneTests.createBody(name: "unused", url: "http://127.0.0.1:9"))
        body.removeValue(forKey: "agentRuntimeName")
        body["agentRuntimeArtifact"] = ["codeConfiguration": ["code": code, "runtime": "PYTHON_3_11", "entryPoint": ["main.py"]]]
        let text = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
        let response = try await gateway.send(.PUT, "\(gateway.baseURL)/runtimes/\(id)/", body: text, key: gateway.adminKey)
        #expect(response.status == 202, "\(response.body)")
        return try TestGateway.json(response.body)
    }

    /// GetAgentRuntime polled until the status leaves CREATING/UPDATING.
    static func settled(_ gateway: TestGateway, id: String) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + .seconds(120)
        while true {
            let response = try await gateway.send(.GET, "\(gateway.baseURL)/runtimes/\(id)/", key: gateway.adminKey)
            let json = try TestGateway.json(response.body)
            let status = json["status"] as? String
            if status != "CREATING" && status != "UPDATING" { return json }
            guard ContinuousClock.now < deadline else { throw TestFailure("\(id) is still \(status ?? "?")") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    @Test("code from a local path: CREATING then READY; requirements become one read-only layer shared by versions; a failed update leaves DEFAULT on the good version")
    func localPathWithDependencies() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let fixtures = try Fixtures(directory)
        try await fixtures.wheel(version: "1.0", value: "from the layer")
        let source = try fixtures.agent("probe", requirements: "# the probe's one dependency\nportcullis-probe-dep==1.0  # pinned\n")
        try await Self.withGateway(fixtures) { gateway in
            let created = try await Self.create(gateway, name: "deployed", code: ["path": source])
            #expect(created.status == 202, "\(created.json)")
            #expect(created.json["status"] as? String == "CREATING")
            let id = try #require(created.json["agentRuntimeId"] as? String)
            let arn = try #require(created.json["agentRuntimeArn"] as? String)
            let ready = try await Self.settled(gateway, id: id)
            #expect(ready["status"] as? String == "READY", "\(ready)")
            #expect((ready["agentRuntimeArtifact"] as? [String: Any]).flatMap { $0["codeConfiguration"] as? [String: Any] }.flatMap { $0["code"] as? [String: String] } == ["path": source])

            let session = SandboxTests.session("d")
            let imported = try await SandboxTests.probe(gateway, arn, session: session, ["action": "import", "module": "portcullis_probe_dep"])
            #expect(imported.status == 200, "\(imported.json)")
            let module = try #require(imported.json["ok"] as? [String: Any])
            #expect(module["value"] as? String == "from the layer")
            #expect((module["file"] as? String)?.hasPrefix("/opt/agent-deps/portcullis_probe_dep/") == true, "\(module)")
            let write = try await SandboxTests.probe(gateway, arn, session: session, ["action": "write", "path": "/opt/agent-deps/portcullis_probe_dep/evil.py"])
            #expect(write.json["error"] as? String == "EROFS")

            // The gateway's copy is what runs: changing the source changes no deployed version.
            try "VALUE = 'edited'\n".write(toFile: source + "/portcullis_probe_dep.py", atomically: true, encoding: .utf8)
            let after = try await SandboxTests.probe(gateway, arn, session: SandboxTests.session("e"), ["action": "import", "module": "portcullis_probe_dep"])
            #expect((after.json["ok"] as? [String: Any])?["value"] as? String == "from the layer")
            try FileManager.default.removeItem(atPath: source + "/portcullis_probe_dep.py")

            // A new version with the same requirements reuses the layer: one layer on disk, named by both versions.
            #expect(try await Self.update(gateway, id: id, code: ["path": source])["status"] as? String == "UPDATING")
            #expect(try await Self.settled(gateway, id: id)["status"] as? String == "READY")
            let data = gateway.gateway.configuration.store.dataDirectory
            let layers = try FileManager.default.contentsOfDirectory(atPath: data + "/layers").filter { !$0.hasPrefix(".") }
            #expect(layers.count == 1, "\(layers)")
            let recorded = try (1...2).map { try String(contentsOfFile: "\(data)/artifacts/\(id)/\($0)/dependencies", encoding: .utf8) }
            #expect(recorded == Array(repeating: "\(data)/layers/\(layers[0])", count: 2))

            // An update pip cannot satisfy fails with pip's own words; DEFAULT keeps serving version 2.
            try "portcullis-probe-dep==2.0\n".write(toFile: source + "/requirements.txt", atomically: true, encoding: .utf8)
            _ = try await Self.update(gateway, id: id, code: ["path": source])
            let failed = try await Self.settled(gateway, id: id)
            #expect(failed["status"] as? String == "UPDATE_FAILED")
            let reason = try #require(failed["failureReason"] as? String)
            #expect(reason.contains("pip install -r requirements.txt failed"), "\(reason)")
            #expect(reason.contains("portcullis-probe-dep==2.0"), "\(reason)")
            let endpoint = try TestGateway.json(try await gateway.send(.GET, "\(gateway.baseURL)/runtimes/\(id)/runtime-endpoints/DEFAULT/", key: gateway.adminKey).body)
            #expect(endpoint["liveVersion"] as? String == "2")
            #expect(endpoint["targetVersion"] as? String == "3")
            #expect(endpoint["status"] as? String == "UPDATE_FAILED")
            let still = try await SandboxTests.probe(gateway, arn, session: SandboxTests.session("f"), ["action": "import", "module": "portcullis_probe_dep"])
            #expect(still.status == 200)
            #expect((still.json["ok"] as? [String: Any])?["value"] as? String == "from the layer")
            // Deleting the runtime removes its files and the layer nothing else uses.
            #expect(try await gateway.send(.DELETE, "\(gateway.baseURL)/runtimes/\(id)/", key: gateway.adminKey).status == 202)
            try await Self.eventually { !FileManager.default.fileExists(atPath: "\(data)/layers/\(layers[0])") && !FileManager.default.fileExists(atPath: "\(data)/artifacts/\(id)") }
        }
    }

    @Test("failures are CREATE_FAILED with a reason a person can act on; sources outside the allowed roots and prefixes are refused")
    func failuresAndSources() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let fixtures = try Fixtures(directory)
        let good = try fixtures.agent("good")
        let archive = directory.path + "/good.zip"
        try await Fixtures.zip(good, to: archive)
        let zipBytes = try Data(contentsOf: URL(fileURLWithPath: archive))
        let linked = try fixtures.agent("linked")
        try FileManager.default.createDirectory(atPath: linked + "/lib", withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: linked + "/lib/host.py", withDestinationPath: "/etc/hostname")
        try await withTestAgent({ router, _ in
            router.get("/code/probe.zip") { _, _ in ByteBuffer(bytes: zipBytes) }
        }) { agentURL, _ in
            try await Self.withGateway(fixtures, urlPrefixes: [agentURL + "/code/"]) { gateway in
                // A zip fetched over HTTP runs.
                let fromURL = try await Self.create(gateway, name: "from_url", code: ["url": agentURL + "/code/probe.zip"])
                #expect(fromURL.status == 202, "\(fromURL.json)")
                let id = try #require(fromURL.json["agentRuntimeId"] as? String)
                #expect(try await Self.settled(gateway, id: id)["status"] as? String == "READY")
                let answer = try await SandboxTests.probe(gateway, try #require(fromURL.json["agentRuntimeArn"] as? String), session: SandboxTests.session("u"), ["action": "echo"])
                #expect(answer.status == 200)
                #expect(answer.json["cwd"] as? String == "/app")

                let failures: [(String, [String: Any], [String], String)] = [
                    ("no_entry", ["path": good], ["agent.py"], "the entry point agent.py is not in the code"),
                    ("bad_syntax", ["path": try fixtures.agent("syntax", files: ["main.py": "def broken(:\n"])], ["main.py"], "the entry point does not compile"),
                    ("bad_option", ["path": try fixtures.agent("option", requirements: "--index-url http://127.0.0.1:9/simple\nsix\n")], ["main.py"], "requirements.txt line 1 is not a package requirement"),
                    ("bad_reference", ["path": try fixtures.agent("reference", requirements: "six @ https://127.0.0.1:9/six.whl\n")], ["main.py"], "requirements.txt line 1 is not a package requirement"),
                    ("missing_path", ["path": fixtures.root + "/nothing-here"], ["main.py"], "does not exist"),
                    ("link_out", ["path": linked], ["main.py"], "the code's symbolic link lib/host.py points outside the code directory"),
                    ("missing_url", ["url": agentURL + "/code/absent.zip"], ["main.py"], "HTTP 404"),
                ]
                for (name, code, entryPoint, expected) in failures {
                    let created = try await Self.create(gateway, name: name, code: code, entryPoint: entryPoint)
                    #expect(created.status == 202, "\(name): \(created.json)")
                    let id = try #require(created.json["agentRuntimeId"] as? String)
                    let settled = try await Self.settled(gateway, id: id)
                    #expect(settled["status"] as? String == "CREATE_FAILED", "\(name)")
                    let reason = settled["failureReason"] as? String ?? ""
                    #expect(reason.contains(expected), "\(name): \(reason)")
                    #expect(!reason.contains(gateway.gateway.configuration.store.dataDirectory), "the gateway's paths stay out of the reason: \(reason)")
                    let invoke = try await gateway.send(.POST, gateway.invocationURL(try #require(created.json["agentRuntimeArn"] as? String)), body: "{}")
                    #expect(invoke.status == 424, "\(name): a failed runtime is not invoked (\(invoke.body))")
                }

                // Sources the control plane may not name are refused before anything is stored.
                let refused: [([String: Any], String)] = [
                    (["path": "/etc"], "agentRuntimeArtifact.codeConfiguration.code.path"),
                    (["path": fixtures.root + "/../../.."], "agentRuntimeArtifact.codeConfiguration.code.path"),
                    (["url": "http://127.0.0.1:9/elsewhere.zip"], "agentRuntimeArtifact.codeConfiguration.code.url"),
                ]
                for (code, field) in refused {
                    let created = try await Self.create(gateway, name: "refused", code: code)
                    #expect(created.status == 400, "\(code)")
                    #expect((created.json["fieldList"] as? [[String: String]])?.first?["name"] == field, "\(created.json)")
                }
                #expect(try await gateway.gateway.registry.runtime(named: "refused") == nil)
            }
        }
    }

    @Test(
        "code from S3-compatible storage: boto3 deploys it from moto's S3, which verifies the gateway's SigV4 signature",
        .enabled(if: ExternalProcess.python != nil, "needs a Python with boto3 and moto[server]: run ./scripts/test.sh, or set PORTCULLIS_TEST_PYTHON")
    )
    func fromS3WithBoto3() async throws {
        let python = try #require(ExternalProcess.python)
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let fixtures = try Fixtures(directory)
        let archive = directory.path + "/probe.zip"
        try await Fixtures.zip(try fixtures.agent("probe"), to: archive)
        let port = try RefusingPort.free()
        let moto = try RunningProcess(python, ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)], environment: ["INITIAL_NO_AUTH_ACTION_COUNT": "3"])
        defer { moto.terminate() }
        _ = try await moto.waitFor(#"(Running on)"#, timeout: .seconds(60))
        let interop = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("interop")
        let motoURL = "http://127.0.0.1:\(port)"
        let setup = try await ExternalProcess.run(python, [interop.appendingPathComponent("s3_code_setup.py").path], environment: ["MOTO_URL": motoURL, "PROBE_ZIP": archive])
        #expect(setup.status == 0, "\(setup.error)")
        let keys = try TestGateway.json(setup.output)
        // The gateway reads S3 credentials from the environment variables artifacts.s3 names, when it fetches — here
        // from this test's own table (setenv while other tests' threads read the environment can crash them).
        let keyVariable = "PORTCULLIS_TEST_S3_KEY"
        let secretVariable = "PORTCULLIS_TEST_S3_SECRET"
        let environment = Mutex([keyVariable: try #require(keys["accessKeyId"] as? String), secretVariable: "not-the-secret"])
        let s3 = S3Configuration(endpoint: motoURL, region: "us-east-1", accessKeyIdEnv: keyVariable, secretAccessKeyEnv: secretVariable, sessionTokenEnv: "PORTCULLIS_TEST_NO_TOKEN")
        try await Self.withGateway(fixtures, s3: s3, environment: { environment.withLock { $0 } }) { gateway in
            // A wrong secret: moto refuses the signature, and the reason says so without the secret.
            let wrong = try await Self.create(gateway, name: "wrong_secret", code: ["s3": ["bucket": "agent-code", "prefix": "probe/v1 release.zip"]])
            let settled = try await Self.settled(gateway, id: try #require(wrong.json["agentRuntimeId"] as? String))
            #expect(settled["status"] as? String == "CREATE_FAILED")
            let reason = settled["failureReason"] as? String ?? ""
            #expect(reason.contains("HTTP 403"), "\(reason)")
            #expect(!reason.contains("not-the-secret"))
            let secret = try #require(keys["secretAccessKey"] as? String)
            environment.withLock { $0[secretVariable] = secret }

            let result = try await ExternalProcess.run(
                python,
                [interop.appendingPathComponent("boto3_code_deploy.py").path],
                environment: [
                    "AWS_ENDPOINT_URL_BEDROCK_AGENTCORE": gateway.baseURL,
                    "AWS_ENDPOINT_URL_BEDROCK_AGENTCORE_CONTROL": gateway.baseURL,
                    "AWS_EC2_METADATA_DISABLED": "true",
                    "ADMIN_KEY": gateway.adminKey,
                    "INVOKE_KEY": gateway.invokeKey,
                ]
            )
            #expect(result.status == 0, "\(result.output)\n\(result.error)")
            #expect(result.output.contains("OK "), "\(result.output)")
        }
    }

    @Test("a deployment the gateway did not finish (it stopped) is finished at the next start")
    func interruptedDeploymentResumes() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let fixtures = try Fixtures(directory)
        let source = try fixtures.agent("probe")
        let data = directory.path + "/data"
        let id = AgentRuntimeIdentifier.makeRuntimeId(name: "interrupted")
        // What a gateway stopped mid-deployment leaves: a CREATING version and no files.
        try await TestGateway.run(configure: { $0.store = StoreConfiguration(dataDirectory: data) }) { gateway in
            let now = Date()
            let configuration = AgentRuntimeConfiguration(
                artifact: .code(CodeArtifact(source: .path(source), runtime: "PYTHON_3_11", entryPoint: ["main.py"])),
                roleArn: DeclaredAgent.roleArn
            )
            try await gateway.gateway.store.createRuntime(
                AgentRuntime(id: id, name: "interrupted", latestVersion: 1, status: .creating, createdAt: now, lastUpdatedAt: now),
                firstVersion: AgentRuntimeVersion(runtimeId: id, version: 1, configuration: configuration, status: .creating, createdAt: now),
                defaultEndpoint: AgentRuntimeEndpoint(
                    runtimeId: id, name: "DEFAULT", id: AgentRuntimeIdentifier.makeRuntimeId(name: "DEFAULT"), liveVersion: 1, targetVersion: 1,
                    status: .creating, createdAt: now, lastUpdatedAt: now
                )
            )
        }
        try await Self.withGateway(fixtures, dataDirectory: data) { gateway in
            #expect(try await Self.settled(gateway, id: id)["status"] as? String == "READY")
            let answer = try await SandboxTests.probe(gateway, gateway.names.runtimeARN(runtimeId: id), session: SandboxTests.session("r"), ["action": "echo"])
            #expect(answer.status == 200, "\(answer.json)")
        }
    }

    @Test("a deployment asked for after shutdown is answered, not left waiting")
    func deploymentAfterShutdown() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let fixtures = try Fixtures(directory)
        let source = try fixtures.agent("probe")
        try await Self.withGateway(fixtures) { gateway in
            let deployer = gateway.gateway.deployer
            await deployer.shutdown()
            let code = CodeArtifact(source: .path(source), runtime: "PYTHON_3_11", entryPoint: ["main.py"])
            let answer = try await withThrowingTaskGroup(of: String?.self) { group in
                group.addTask { await deployer.deployNow(runtimeId: "never-0123456789", version: 1, artifact: .code(code)) }
                group.addTask {
                    try await Task.sleep(for: .seconds(10))
                    throw TestFailure("deployNow never answered")
                }
                let first = try await group.next()!
                group.cancelAll()
                return first
            }
            #expect(answer == "the gateway is shutting down")
        }
    }

    /// Waits (up to 10 s) until `condition` holds.
    static func eventually(_ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !(try await condition()) {
            guard ContinuousClock.now < deadline else { throw TestFailure("the condition never held") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
