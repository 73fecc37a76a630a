import Foundation
import Hummingbird
import NIOCore
import NIOHTTP1
import PortcullisCore
@testable import PortcullisGateway
import Testing

/// Container images deployed without a container engine: OCI layouts and `docker save` archives, from a local path
/// or a URL, unpacked into a read-only root that each session's sandbox runs on. The images are built by
/// `Tests/interop/make_image.py` from this host's Python, with two layers, whiteouts and a Dockerfile-like config.
@Suite("Container images deployed through the control plane", .enabled(if: canRunSandboxes, "needs root and bubblewrap (apt-get install bubblewrap)"))
struct ContainerImageTests {
    static let builder = packageRoot.appendingPathComponent("Tests/interop/make_image.py").path

    /// Builds an image of `format` (see make_image.py) at `output`.
    static func makeImage(_ format: String, _ output: String, name: String = "portcullis/agent:latest") async throws {
        let result = try await ExternalProcess.run("/usr/bin/python3", [builder, format, output, name])
        #expect(result.status == 0, "\(result.error)")
    }

    static func create(_ gateway: TestGateway, name: String, uri: String, environment: [String: String] = [:]) async throws -> (status: Int, json: [String: Any]) {
        let body = try ControlPlaneTests.createBody(name: name, url: uri, extra: ["environmentVariables": environment])
        let response = try await gateway.send(.PUT, "\(gateway.baseURL)/runtimes/", body: body, key: gateway.adminKey)
        return (response.status, (try? TestGateway.json(response.body)) ?? ["raw": response.body])
    }

    /// Creates an image runtime, waits for it to settle, and returns its final description.
    static func deploy(_ gateway: TestGateway, name: String, uri: String, environment: [String: String] = [:]) async throws -> [String: Any] {
        let created = try await create(gateway, name: name, uri: uri, environment: environment)
        #expect(created.status == 202, "\(name): \(created.json)")
        #expect(created.json["status"] as? String == "CREATING", "\(name)")
        return try await CodeDeploymentTests.settled(gateway, id: try #require(created.json["agentRuntimeId"] as? String))
    }

    static func invoke(_ gateway: TestGateway, _ arn: String, session: String) async throws -> (status: Int, json: [String: Any]) {
        let response = try await gateway.send(
            .POST, gateway.invocationURL(arn),
            headers: [("Content-Type", "application/json"), ("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id", session)],
            body: #"{"prompt": "from the test"}"#
        )
        return (response.status, (try? TestGateway.json(response.body)) ?? ["raw": response.body])
    }

    @Test("an OCI layout: CREATING then READY; the session runs on the image's own root with its layers, whiteouts and config applied, read-only, as an unprivileged uid")
    func ociLayout() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let fixtures = try CodeDeploymentTests.Fixtures(directory)
        let layout = fixtures.root + "/agent-oci"
        try await Self.makeImage("oci", layout)
        try await CodeDeploymentTests.withGateway(fixtures) { gateway in
            let uri = "oci:\(layout):latest"
            let ready = try await Self.deploy(gateway, name: "image_oci", uri: uri, environment: ["RUNTIME_VARIABLE": "from the runtime", "IMAGE_GREETING": "overridden"])
            #expect(ready["status"] as? String == "READY", "\(ready)")
            let artifact = ready["agentRuntimeArtifact"] as? [String: Any]
            #expect((artifact?["containerConfiguration"] as? [String: String])?["containerUri"] == uri)
            let arn = try #require(ready["agentRuntimeArn"] as? String)

            let session = SandboxTests.session("img")
            let answer = try await Self.invoke(gateway, arn, session: session)
            #expect(answer.status == 200, "\(answer.json)")
            let seen = answer.json
            #expect((seen["payload"] as? [String: String])?["prompt"] == "from the test")
            #expect(seen["sessionId"] as? String == session)
            #expect(seen["greeting"] as? String == "overridden", "the runtime's variables override the image's Env")
            #expect(seen["runtimeVariable"] as? String == "from the runtime")
            #expect(seen["dockerContainer"] as? String == "1")
            #expect(seen["cwd"] as? String == "/app", "WorkingDir from the image config")
            #expect((seen["uid"] as? Int ?? 0) >= 100_000, "not root, not the image's user: a uid of the session's own (\(seen["uid"] ?? "?"))")
            #expect(seen["staleExists"] as? Bool == false, "the second layer's whiteout removed /app/stale.txt")
            #expect(seen["old"] as? [String] == ["new.txt"], "the opaque whiteout hid the first layer's /opt/old")
            #expect(seen["throughLink"] as? Bool == true, "a layer path through the /lib link lands in /usr/lib inside the image")
            #expect(seen["osRelease"] as? String == "NAME=portcullis-test-image", "the image's /etc, not the host's")
            #expect(seen["hostBubblewrapVisible"] as? Bool == false, "the host's /usr is not in the sandbox")
            #expect(seen["usrWritable"] as? Bool == false)
            #expect(seen["workdirWritable"] as? Bool == true, "the working directory is a writable tmpfs over the image's files")
            #expect(seen["tmpWritable"] as? Bool == true)

            // Unpacked root: nothing the sandbox users could change, no set-uid bits.
            let data = gateway.gateway.configuration.store.dataDirectory
            let id = try #require(ready["agentRuntimeId"] as? String)
            let rootfs = "\(data)/artifacts/\(id)/1/image/rootfs"
            let python = try FileManager.default.attributesOfItem(atPath: rootfs + "/usr/bin/python3.11")
            #expect(python[.ownerAccountID] as? Int == 0)
            #expect((python[.posixPermissions] as? Int).map { $0 & 0o7022 } == 0, "no set-id bits, not group- or world-writable")
        }
    }

    @Test("docker save and OCI archives from a local path and over HTTP; a tag picks the image")
    func archives() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let fixtures = try CodeDeploymentTests.Fixtures(directory)
        let dockerArchive = directory.path + "/served.tar"
        try await Self.makeImage("docker-archive", dockerArchive, name: "registry.example.com/team/agent:v2")
        let ociArchive = fixtures.root + "/agent-oci.tar"
        try await Self.makeImage("oci-archive", ociArchive)
        let served = try Data(contentsOf: URL(fileURLWithPath: dockerArchive))
        try await withTestAgent({ router, _ in
            router.get("/images/agent.tar") { _, _ in ByteBuffer(bytes: served) }
        }) { serverURL, _ in
            try await CodeDeploymentTests.withGateway(fixtures, urlPrefixes: [serverURL + "/images/"]) { gateway in
                let deployments = [
                    ("docker_url", "docker-archive:\(serverURL)/images/agent.tar:v2"),
                    ("docker_url_by_name", "docker-archive:\(serverURL)/images/agent.tar:agent"),
                    ("oci_archive", "oci-archive:\(ociArchive)"),
                ]
                for (name, uri) in deployments {
                    let ready = try await Self.deploy(gateway, name: name, uri: uri)
                    #expect(ready["status"] as? String == "READY", "\(name): \(ready)")
                    let arn = try #require(ready["agentRuntimeArn"] as? String)
                    let answer = try await Self.invoke(gateway, arn, session: SandboxTests.session(String(name.prefix(4))))
                    #expect(answer.status == 200, "\(name): \(answer.json)")
                    #expect(answer.json["greeting"] as? String == "hello from the image", "\(name)")
                    #expect(answer.json["old"] as? [String] == ["new.txt"], "\(name)")
                }
            }
        }
    }

    @Test("bad images are CREATE_FAILED with a reason to act on; image URIs the control plane may not name are refused")
    func badImages() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let fixtures = try CodeDeploymentTests.Fixtures(directory)
        for format in ["oci-tampered", "docker-traversal", "docker-arm64"] {
            try await Self.makeImage(format, fixtures.root + "/" + format)
        }
        try "not an image".write(toFile: fixtures.root + "/plain.tar", atomically: true, encoding: .utf8)
        try await Self.makeImage("docker-archive", fixtures.root + "/tagged.tar", name: "team/agent:v1")
        try await CodeDeploymentTests.withGateway(fixtures) { gateway in
            let failures = [
                ("tampered", "oci:\(fixtures.root)/oci-tampered", "does not match its digest"),
                ("traversal", "docker-archive:\(fixtures.root)/docker-traversal", "a path with '..'"),
                ("arm64", "docker-archive:\(fixtures.root)/docker-arm64", "the image is for linux/arm64; this host runs linux/amd64"),
                ("not_image", "docker-archive:\(fixtures.root)/plain.tar", "not a tar archive or an OCI layout directory"),
                ("wrong_tag", "docker-archive:\(fixtures.root)/tagged.tar:v9", "holds no image named 'v9' (it has: team/agent:v1)"),
                ("missing", "oci:\(fixtures.root)/nothing-here", "does not exist"),
            ]
            for (name, uri, expected) in failures {
                let settled = try await Self.deploy(gateway, name: name, uri: uri)
                #expect(settled["status"] as? String == "CREATE_FAILED", "\(name)")
                let reason = settled["failureReason"] as? String ?? ""
                #expect(reason.contains(expected), "\(name): \(reason)")
                #expect(!reason.contains(gateway.gateway.configuration.store.dataDirectory), "the gateway's paths stay out of the reason: \(reason)")
            }
            #expect(!FileManager.default.fileExists(atPath: fixtures.root + "/escaped") && !FileManager.default.fileExists(atPath: directory.path + "/escaped"))

            let field = "agentRuntimeArtifact.containerConfiguration.containerUri"
            let refused = [
                ("oci:\(fixtures.root)/agent:bad*tag", field),
                ("oci:relative/path", field),
                ("oci:https://127.0.0.1:9/layout", field),
                ("docker-archive:/etc/agent.tar", field + ".path"),
                ("docker-archive:http://127.0.0.1:9/agent.tar", field + ".url"),
            ]
            for (uri, expectedField) in refused {
                let created = try await Self.create(gateway, name: "refused", uri: uri)
                #expect(created.status == 400, "\(uri): \(created.json)")
                #expect((created.json["fieldList"] as? [[String: String]])?.first?["name"] == expectedField, "\(uri): \(created.json)")
            }
            #expect(try await gateway.gateway.registry.runtime(named: "refused") == nil)
        }
    }
}
