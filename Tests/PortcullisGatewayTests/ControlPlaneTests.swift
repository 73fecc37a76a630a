import AsyncHTTPClient
import Foundation
import Hummingbird
import NIOCore
import NIOHTTP1
@testable import PortcullisCore
@testable import PortcullisGateway
import PortcullisIdentity
import Testing

@Suite("Control plane: runtimes, versions, endpoints")
struct ControlPlaneTests {
    /// A CreateAgentRuntime body with a `codeConfiguration`.
    static func codeBody(_ code: [String: Any], runtime: String = "PYTHON_3_11", entryPoint: [String] = ["main.py"]) throws -> String {
        try createBody(
            name: "ok",
            url: "http://127.0.0.1:9",
            extra: ["agentRuntimeArtifact": ["codeConfiguration": ["code": code, "runtime": runtime, "entryPoint": entryPoint]]]
        )
    }

    static func createBody(name: String, url: String, extra: [String: Any] = [:]) throws -> String {
        var body: [String: Any] = [
            "agentRuntimeName": name,
            "agentRuntimeArtifact": ["containerConfiguration": ["containerUri": url]],
            "roleArn": "arn:aws:iam::123456789012:role/agent",
            "networkConfiguration": ["networkMode": "PUBLIC"],
        ]
        body.merge(extra) { $1 }
        return String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
    }

    @Test("create, get, update (DEFAULT follows), pinned endpoints, list, delete")
    func lifecycle() async throws {
        try await withTestAgent({ router, _ in
            router.post("/invocations") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "v1"))) }
        }) { firstURL, _ in
            try await withTestAgent({ router, _ in
                router.post("/invocations") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "v2"))) }
            }) { secondURL, _ in
                try await TestGateway.run { gateway in
                    let admin = gateway.adminKey
                    let created = try await gateway.send(
                        .PUT, "\(gateway.baseURL)/runtimes/",
                        body: try Self.createBody(name: "lifecycle", url: firstURL, extra: [
                            "description": "first", "requestHeaderConfiguration": ["requestHeaderAllowlist": ["X-Tenant-Id"]],
                            "lifecycleConfiguration": ["idleRuntimeSessionTimeout": 120, "maxLifetime": 3600],
                            "environmentVariables": ["MODE": "test"], "protocolConfiguration": ["serverProtocol": "HTTP"],
                        ]),
                        key: admin
                    )
                    #expect(created.status == 202)
                    let createdBody = try TestGateway.json(created.body)
                    let runtimeId = try #require(createdBody["agentRuntimeId"] as? String)
                    let arn = try #require(createdBody["agentRuntimeArn"] as? String)
                    #expect(arn == "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/\(runtimeId)")
                    #expect(runtimeId.hasPrefix("lifecycle-") && runtimeId.count == "lifecycle-".count + 10)
                    #expect(createdBody["agentRuntimeVersion"] as? String == "1")
                    #expect(createdBody["status"] as? String == "READY")
                    #expect((createdBody["workloadIdentityDetails"] as? [String: Any])?["workloadIdentityArn"] as? String
                        == "arn:aws:bedrock-agentcore:us-east-1:123456789012:workload-identity-directory/default/workload-identity/\(runtimeId)")
                    #expect(try await gateway.send(.POST, gateway.invocationURL(arn), body: "{}").body == "v1")

                    let fetched = try TestGateway.json(try await gateway.send(.GET, "\(gateway.baseURL)/runtimes/\(runtimeId)/", key: admin).body)
                    #expect(fetched["agentRuntimeName"] as? String == "lifecycle")
                    #expect(fetched["description"] as? String == "first")
                    #expect((fetched["lifecycleConfiguration"] as? [String: Any])?["idleRuntimeSessionTimeout"] as? Int == 120)
                    #expect((fetched["environmentVariables"] as? [String: String]) == ["MODE": "test"])
                    #expect(((fetched["requestHeaderConfiguration"] as? [String: Any])?["requestHeaderAllowlist"] as? [String]) == ["X-Tenant-Id"])
                    #expect(((fetched["agentRuntimeArtifact"] as? [String: Any])?["containerConfiguration"] as? [String: String])?["containerUri"] == firstURL)
                    #expect(fetched["createdAt"] as? String != nil)

                    // A named endpoint pinned to version 1.
                    let endpoint = try await gateway.send(
                        .PUT, "\(gateway.baseURL)/runtimes/\(runtimeId)/runtime-endpoints/",
                        body: #"{"name":"stable","agentRuntimeVersion":"1","description":"pinned"}"#, key: admin
                    )
                    #expect(endpoint.status == 202)
                    #expect(try TestGateway.json(endpoint.body)["targetVersion"] as? String == "1")

                    let updated = try await gateway.send(
                        .PUT, "\(gateway.baseURL)/runtimes/\(runtimeId)/", body: try Self.createBody(name: "ignored", url: secondURL), key: admin
                    )
                    #expect(updated.status == 202)
                    #expect(try TestGateway.json(updated.body)["agentRuntimeVersion"] as? String == "2")
                    #expect(try await gateway.send(.POST, gateway.invocationURL(arn), body: "{}").body == "v2", "DEFAULT follows")
                    #expect(try await gateway.send(.POST, gateway.invocationURL(arn, query: "qualifier=stable"), body: "{}").body == "v1", "pinned")
                    let version1 = try TestGateway.json(try await gateway.send(.GET, "\(gateway.baseURL)/runtimes/\(runtimeId)/?version=1", key: admin).body)
                    #expect(version1["agentRuntimeVersion"] as? String == "1")
                    #expect(version1["description"] as? String == "first")

                    let versions = try TestGateway.json(try await gateway.send(.POST, "\(gateway.baseURL)/runtimes/\(runtimeId)/versions/?maxResults=1", key: admin).body)
                    #expect((versions["agentRuntimes"] as? [[String: Any]])?.map { $0["agentRuntimeVersion"] as? String } == ["2"])
                    let token = try #require(versions["nextToken"] as? String)
                    let page2 = try TestGateway.json(try await gateway.send(.POST, "\(gateway.baseURL)/runtimes/\(runtimeId)/versions/?maxResults=1&nextToken=\(token)", key: admin).body)
                    #expect((page2["agentRuntimes"] as? [[String: Any]])?.map { $0["agentRuntimeVersion"] as? String } == ["1"])
                    #expect(page2["nextToken"] == nil)

                    let moved = try await gateway.send(
                        .PUT, "\(gateway.baseURL)/runtimes/\(runtimeId)/runtime-endpoints/stable/", body: #"{"agentRuntimeVersion":"2"}"#, key: admin
                    )
                    #expect(moved.status == 202)
                    #expect(try TestGateway.json(moved.body)["liveVersion"] as? String == "2")
                    #expect(try await gateway.send(.POST, gateway.invocationURL(arn, query: "qualifier=stable"), body: "{}").body == "v2")

                    let endpoints = try TestGateway.json(try await gateway.send(.POST, "\(gateway.baseURL)/runtimes/\(runtimeId)/runtime-endpoints/", key: admin).body)
                    #expect((endpoints["runtimeEndpoints"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["DEFAULT", "stable"])
                    let defaultUpdate = try await gateway.send(.PUT, "\(gateway.baseURL)/runtimes/\(runtimeId)/runtime-endpoints/DEFAULT/", body: #"{"agentRuntimeVersion":"1"}"#, key: admin)
                    #expect(defaultUpdate.status == 400)
                    #expect(try await gateway.send(.DELETE, "\(gateway.baseURL)/runtimes/\(runtimeId)/runtime-endpoints/stable/", key: admin).status == 202)
                    #expect(try await gateway.send(.GET, "\(gateway.baseURL)/runtimes/\(runtimeId)/runtime-endpoints/stable/", key: admin).status == 404)

                    let list = try TestGateway.json(try await gateway.send(.POST, "\(gateway.baseURL)/runtimes/", key: admin).body)
                    let summaries = try #require(list["agentRuntimes"] as? [[String: Any]])
                    #expect(summaries.count == 1)
                    #expect(summaries.first?["agentRuntimeVersion"] as? String == "2")
                    #expect(summaries.first?["description"] as? String == "")

                    let deleted = try await gateway.send(.DELETE, "\(gateway.baseURL)/runtimes/\(runtimeId)/", key: admin)
                    #expect(deleted.status == 202)
                    #expect(try TestGateway.json(deleted.body)["status"] as? String == "DELETING")
                    #expect(try await gateway.send(.GET, "\(gateway.baseURL)/runtimes/\(runtimeId)/", key: admin).status == 404)
                    let gone = try await gateway.send(.POST, gateway.invocationURL(arn), body: "{}")
                    #expect(gone.status == 404)
                }
            }
        }
    }

    @Test("invalid requests are refused with ValidationException naming the field")
    func validation() async throws {
        try await TestGateway.run { gateway in
            let url = "http://127.0.0.1:9"
            let cases: [(String, String)] = [
                (try Self.createBody(name: "1bad", url: url), "agentRuntimeName"),
                (#"{"agentRuntimeName":"ok","roleArn":"arn:aws:iam::123456789012:role/a"}"#, "agentRuntimeArtifact"),
                (try Self.codeBody(["s3": ["bucket": "agents", "prefix": "a.zip"]]), "agentRuntimeArtifact.codeConfiguration"),
                (try Self.codeBody(["s3": ["bucket": "b", "prefix": "a.zip"]]), "agentRuntimeArtifact.codeConfiguration.code.s3.bucket"),
                (try Self.codeBody(["s3": ["bucket": "agents"]]), "agentRuntimeArtifact.codeConfiguration.code.s3.prefix"),
                (try Self.codeBody(["path": "relative/dir"]), "agentRuntimeArtifact.codeConfiguration.code.path"),
                (try Self.codeBody(["url": "ftp://example.com/a.zip"]), "agentRuntimeArtifact.codeConfiguration.code.url"),
                (try Self.codeBody(["path": "/srv/a", "url": "https://example.com/a.zip"]), "agentRuntimeArtifact.codeConfiguration.code"),
                (try Self.codeBody(["path": "/srv/a"], runtime: "NODE_22"), "agentRuntimeArtifact.codeConfiguration.runtime"),
                (try Self.codeBody(["path": "/srv/a"], entryPoint: ["../main.py"]), "agentRuntimeArtifact.codeConfiguration.entryPoint"),
                (try Self.createBody(name: "ok", url: "ftp://example.com"), "agentRuntimeArtifact.containerConfiguration.containerUri"),
                (try Self.createBody(name: "ok", url: "http://user:pass@127.0.0.1:9"), "agentRuntimeArtifact.containerConfiguration.containerUri"),
                (try Self.createBody(name: "ok", url: url, extra: ["roleArn": "not-an-arn"]), "roleArn"),
                (try Self.createBody(name: "ok", url: url, extra: ["requestHeaderConfiguration": ["requestHeaderAllowlist": ["X-Amz-Date"]]]), "requestHeaderConfiguration.requestHeaderAllowlist"),
                (try Self.createBody(name: "ok", url: url, extra: ["requestHeaderConfiguration": ["requestHeaderAllowlist": ["Authorization"]]]), "requestHeaderConfiguration.requestHeaderAllowlist"),
                (try Self.createBody(name: "ok", url: url, extra: ["requestHeaderConfiguration": ["requestHeaderAllowlist": ["A", "a"]]]), "requestHeaderConfiguration.requestHeaderAllowlist"),
                (try Self.createBody(name: "ok", url: url, extra: ["requestHeaderConfiguration": ["requestHeaderAllowlist": (0..<21).map { "X-H\($0)" }]]), "requestHeaderConfiguration.requestHeaderAllowlist"),
                (try Self.createBody(name: "ok", url: url, extra: ["lifecycleConfiguration": ["idleRuntimeSessionTimeout": 4000, "maxLifetime": 3600]]), "lifecycleConfiguration.idleRuntimeSessionTimeout"),
                (try Self.createBody(name: "ok", url: url, extra: ["lifecycleConfiguration": ["maxLifetime": 30]]), "lifecycleConfiguration.maxLifetime"),
                (try Self.createBody(name: "ok", url: url, extra: ["protocolConfiguration": ["serverProtocol": "SMTP"]]), "protocolConfiguration.serverProtocol"),
                (try Self.createBody(name: "ok", url: url, extra: ["environmentVariables": ["1BAD": "x"]]), "environmentVariables"),
                (try Self.createBody(name: "ok", url: url, extra: ["networkConfiguration": ["networkMode": "OTHER"]]), "networkConfiguration.networkMode"),
                (try Self.createBody(name: "ok", url: url, extra: ["clientToken": "short"]), "clientToken"),
                (try Self.createBody(name: "ok", url: url, extra: ["authorizerConfiguration": ["customJWTAuthorizer": ["discoveryUrl": "https://idp.example.com/jwks"]]]), "authorizerConfiguration.customJWTAuthorizer.discoveryUrl"),
            ]
            for (body, field) in cases {
                let response = try await gateway.send(.PUT, "\(gateway.baseURL)/runtimes/", body: body, key: gateway.adminKey)
                #expect(response.status == 400, "\(field)")
                let envelope = try TestGateway.json(response.body)
                #expect(envelope["__type"] as? String == "ValidationException")
                #expect(envelope["reason"] as? String == "FieldValidationFailed", "\(field)")
                #expect((envelope["fieldList"] as? [[String: String]])?.first?["name"] == field, "\(envelope)")
            }
            let unparsable = try await gateway.send(.PUT, "\(gateway.baseURL)/runtimes/", body: "{not json", key: gateway.adminKey)
            #expect(unparsable.status == 400)
            #expect(try TestGateway.json(unparsable.body)["reason"] as? String == "CannotParse")
            let oversized = try await gateway.send(.PUT, "\(gateway.baseURL)/runtimes/", body: String(repeating: " ", count: 2_000_000), key: gateway.adminKey)
            #expect(oversized.status == 413)
            let list = try TestGateway.json(try await gateway.send(.POST, "\(gateway.baseURL)/runtimes/", key: gateway.adminKey).body)
            #expect((list["agentRuntimes"] as? [Any])?.isEmpty == true, "nothing was created")
            #expect(try await gateway.send(.POST, "\(gateway.baseURL)/runtimes/?maxResults=0", key: gateway.adminKey).status == 400)
            #expect(try await gateway.send(.POST, "\(gateway.baseURL)/runtimes/?nextToken=%25%25", key: gateway.adminKey).status == 400)
            #expect(try await gateway.send(.GET, "\(gateway.baseURL)/runtimes/nope/", key: gateway.adminKey).status == 400)
            #expect(try await gateway.send(.GET, "\(gateway.baseURL)/runtimes/nope-AAAAAAAAAA/", key: gateway.adminKey).status == 404)
        }
    }

    @Test("clientToken makes mutations idempotent and refuses a reused token with other parameters")
    func idempotency() async throws {
        try await TestGateway.run { gateway in
            let token = SecureRandom.uuid()
            let body = try Self.createBody(name: "once", url: "http://127.0.0.1:9", extra: ["clientToken": token])
            let first = try await gateway.send(.PUT, "\(gateway.baseURL)/runtimes/", body: body, key: gateway.adminKey)
            let retry = try await gateway.send(.PUT, "\(gateway.baseURL)/runtimes/", body: body, key: gateway.adminKey)
            #expect(first.status == 202)
            #expect(retry.status == 202)
            #expect(try TestGateway.json(first.body)["agentRuntimeId"] as? String == TestGateway.json(retry.body)["agentRuntimeId"] as? String)
            let different = try Self.createBody(name: "twice", url: "http://127.0.0.1:9", extra: ["clientToken": token])
            let mismatch = try await gateway.send(.PUT, "\(gateway.baseURL)/runtimes/", body: different, key: gateway.adminKey)
            #expect(mismatch.status == 400)
            #expect(try TestGateway.json(mismatch.body)["reason"] as? String == "IdempotentParameterMismatchException")
            let list = try TestGateway.json(try await gateway.send(.POST, "\(gateway.baseURL)/runtimes/", key: gateway.adminKey).body)
            #expect((list["agentRuntimes"] as? [Any])?.count == 1)
            let duplicateName = try await gateway.send(.PUT, "\(gateway.baseURL)/runtimes/", body: try Self.createBody(name: "once", url: "http://127.0.0.1:9"), key: gateway.adminKey)
            #expect(duplicateName.status == 409)
            #expect(try TestGateway.json(duplicateName.body)["__type"] as? String == "ConflictException")
        }
    }

    @Test("only administrator keys may use the control plane, and config-owned runtimes are read-only")
    func permissions() async throws {
        try await TestGateway.run(configure: {
            $0.agents = [DeclaredAgent(name: "declared", configuration: AgentRuntimeConfiguration(artifact: .endpoint(url: "http://127.0.0.1:9"), roleArn: DeclaredAgent.roleArn))]
        }) { gateway in
            let anonymous = try await gateway.send(.POST, "\(gateway.baseURL)/runtimes/", key: .some(nil))
            #expect(anonymous.status == 401)
            let invoker = try await gateway.send(.POST, "\(gateway.baseURL)/runtimes/", key: gateway.invokeKey)
            #expect(invoker.status == 403)
            #expect(try TestGateway.json(invoker.body)["__type"] as? String == "AccessDeniedException")
            let created = try await gateway.send(.PUT, "\(gateway.baseURL)/runtimes/", body: try Self.createBody(name: "sneaky", url: "http://127.0.0.1:9"), key: gateway.invokeKey)
            #expect(created.status == 403)

            let list = try TestGateway.json(try await gateway.send(.POST, "\(gateway.baseURL)/runtimes/", key: gateway.adminKey).body)
            let declaredId = try #require((list["agentRuntimes"] as? [[String: Any]])?.first?["agentRuntimeId"] as? String)
            let update = try await gateway.send(.PUT, "\(gateway.baseURL)/runtimes/\(declaredId)/", body: try Self.createBody(name: "x", url: "http://127.0.0.1:10"), key: gateway.adminKey)
            #expect(update.status == 409)
            #expect(try await gateway.send(.DELETE, "\(gateway.baseURL)/runtimes/\(declaredId)/", key: gateway.adminKey).status == 409)
        }
    }
}
