import Foundation
import NIOHTTP1
@testable import PortcullisCore
@testable import PortcullisGateway
import PortcullisStore
import Testing

/// MCP runtimes: the gateway reads each JSON-RPC call from the body and asks the policies about its method and,
/// for `tools/call`, its tool, before the agent sees anything.
@Suite("Authorization of MCP calls")
struct MCPAuthorizationTests {
    static let policies = """
        @id("developers-talk-to-tools")
        permit (principal in Group::"developers", action == Action::"InvokeAgent", resource == Agent::"tools");

        @id("developers-search")
        permit (principal in Group::"developers", action == Action::"CallTool", resource == Agent::"tools")
        when { context has mcp && context.mcp has tool && context.mcp.tool == "search" };

        @id("sre-uses-tools")
        permit (principal in Group::"sre", action in Action::"UseAgent", resource == Agent::"tools");
        """

    static func withToolsRuntime(
        agentURL: String? = nil,
        _ body: (_ gateway: TestGateway, _ url: String, _ token: @escaping @Sendable ([String]) throws -> String, _ recorder: RequestRecorder?) async throws -> Void
    ) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let policyPath = try makePolicyDirectory(["tools.cedar": policies], in: directory)
        try await TestIdentityProvider.run { provider in
            try await TestGateway.run(configure: { $0.policies = PolicyConfiguration(directory: policyPath, recordAllowed: .full) }) { gateway in
                func start(_ url: String, _ recorder: RequestRecorder?) async throws {
                    let arn = try await gateway.registerAgent(
                        name: "tools", url: url, protocol: .mcp,
                        authorizer: CustomJWTAuthorizer(discoveryURL: provider.discoveryURL, allowedClients: ["client-1"])
                    )
                    let token: @Sendable ([String]) throws -> String = { groups in
                        try provider.token(["sub": .string(groups.joined(separator: "+")), "groups": .array(groups.map(JSONValue.string))])
                    }
                    try await body(gateway, gateway.invocationURL(arn, query: "qualifier=DEFAULT"), token, recorder)
                }
                if let agentURL {
                    try await start(agentURL, nil)
                } else {
                    try await withTestAgent({ $0.addRecordingInvocations($1, path: "/mcp") }) { url, recorder in try await start(url, recorder) }
                }
            }
        }
    }

    static func rpc(_ method: String, tool: String? = nil, id: Int = 1) -> String {
        let params = tool.map { #","params":{"name":"\#($0)","arguments":{}}"# } ?? ""
        return #"{"jsonrpc":"2.0","id":\#(id),"method":"\#(method)"\#(params)}"#
    }

    @Test("tools/call is decided per tool and per group, from the body; batches need every call allowed")
    func perToolDecisions() async throws {
        try await Self.withToolsRuntime { gateway, url, token, recorder in
            let developer = try token(["developers"])
            let sre = try token(["sre"])
            func post(_ body: String, _ credential: String, headers: [(String, String)] = []) async throws -> (status: Int, headers: HTTPHeaders, body: String) {
                try await gateway.send(.POST, url, headers: [("Content-Type", "application/json")] + headers, body: body, key: credential)
            }
            #expect(try await post(Self.rpc("initialize"), developer).status == 200)
            #expect(try await post(Self.rpc("tools/list"), developer).status == 200)
            let search = try await post(Self.rpc("tools/call", tool: "search"), developer)
            #expect(search.status == 200)
            // A refused tool is the answer to that call alone, so the client's session goes on.
            let deploy = try await post(Self.rpc("tools/call", tool: "deploy", id: 7), developer)
            #expect(deploy.status == 200)
            let refusal = try TestGateway.json(deploy.body)
            #expect(refusal["id"] as? Int == 7)
            let error = try #require(refusal["error"] as? [String: Any])
            #expect(error["code"] as? Int == -32003)
            #expect(error["message"] as? String == "You are not authorized to perform this operation")
            // A caller who may not talk to the agent at all is refused at the HTTP level.
            let outsider = try await post(Self.rpc("tools/list"), try token(["sales"]))
            #expect(outsider.status == 403)
            #expect(outsider.headers.first(name: "X-Amzn-ErrorType") == "AccessDeniedException")
            #expect(try await post(Self.rpc("tools/call", tool: "deploy"), sre).status == 200)
            let forwarded = recorder?.count
            #expect(forwarded == 4)

            // One denied call refuses the whole batch; the agent sees none of it.
            let batch = "[" + Self.rpc("tools/call", tool: "search", id: 1) + "," + Self.rpc("tools/call", tool: "deploy", id: 2) + "]"
            #expect(try await post(batch, developer).status == 403)
            // Headers claiming another method change nothing: the body decides.
            let lying = try await post(Self.rpc("tools/call", tool: "deploy"), developer, headers: [("Mcp-Method", "tools/list"), ("Mcp-Name", "search")])
            #expect(lying.body.contains("-32003"))
            // A body read two ways (duplicate keys) or not JSON at all is refused before any policy.
            let twoWays = #"{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call","params":{"name":"deploy"}}"#
            #expect(try await post(twoWays, developer).status == 400)
            #expect(try await post("not json", developer).status == 400)
            #expect(try await post(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}"#, developer).status == 400)
            #expect(recorder?.count == forwarded, "nothing refused reached the agent")

            // The decision log has both questions of the allowed search call.
            let requestId = try #require(search.headers.first(name: "x-amzn-RequestId"))
            let records = try await AuthorizationTests.decisions(gateway, requestId: requestId)
            #expect(records.map(\.action) == [#"Action::"InvokeAgent""#, #"Action::"CallTool""#])
            #expect(records.map(\.policies) == [["developers-talk-to-tools"], ["developers-search"]])
            #expect(records[1].request?.contains(#""mcp":{"method":"tools/call","tool":"search"}"#) == true)
        }
    }

    @Test(
        "the MCP Python SDK through the gateway: a developer searches but may not deploy, an SRE does both",
        .enabled(if: ExternalProcess.python != nil, "needs a Python with the mcp SDK: run ./scripts/test.sh, or set PORTCULLIS_TEST_PYTHON")
    )
    func mcpSDK() async throws {
        let python = try #require(ExternalProcess.python)
        let script = packageRoot.appendingPathComponent("Tests/interop/mcp_tools.py").path
        let port = try RefusingPort.free()
        let server = try RunningProcess(python, [script, "server", String(port)])
        defer { server.terminate() }
        _ = try await server.waitFor("(serving)", timeout: .seconds(60))
        _ = try await server.waitFor("(Uvicorn running)", timeout: .seconds(60))
        try await Self.withToolsRuntime(agentURL: "http://127.0.0.1:\(port)") { _, url, token, _ in
            let developer = try await ExternalProcess.run(python, [script, "client", url, try token(["developers"]), "search", "deploy", "search:after"])
            #expect(developer.status == 0, "\(developer.error)")
            let outcome = try TestGateway.json(developer.output)
            #expect(outcome["tools"] as? [String] == ["deploy", "search"], "listing tools is an InvokeAgent the developers have")
            let results = try #require(outcome["results"] as? [String: [String: Any]])
            #expect(results["search"]?["ok"] as? Bool == true)
            #expect(results["search"]?["text"] as? String == "results for q")
            #expect(results["deploy"]?["ok"] as? Bool == false)
            #expect(results["deploy"]?["error"] as? String == "McpError", "\(developer.output)")
            #expect(results["deploy"]?["message"] as? String == "You are not authorized to perform this operation")
            #expect(results["after"]?["ok"] as? Bool == true, "the session goes on after a refused tool")

            let sre = try await ExternalProcess.run(python, [script, "client", url, try token(["sre"]), "search", "deploy"])
            #expect(sre.status == 0, "\(sre.error)")
            let sreResults = try #require(try TestGateway.json(sre.output)["results"] as? [String: [String: Any]])
            #expect(sreResults["deploy"]?["text"] as? String == "deployed q")
            #expect(sreResults["search"]?["ok"] as? Bool == true)
        }
    }
}
