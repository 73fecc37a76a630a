import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
@testable import PortcullisCore
@testable import PortcullisGateway
import PortcullisIdentity
import PortcullisPolicy
import Testing

@Suite("InvokeAgentRuntime over HTTP")
struct InvocationTests {
    @Test("forwards the body and exactly the allowed headers, and sets the gateway's own")
    func headerPassthroughAndStripping() async throws {
        try await withTestAgent({ $0.addRecordingInvocations($1) }) { agentURL, recorder in
            try await TestGateway.run { gateway in
                let arn = try await gateway.registerAgent(name: "recorder", url: agentURL, allowlist: ["X-Tenant-Id"])
                let response = try await gateway.send(
                    .POST,
                    gateway.invocationURL(arn),
                    headers: [
                        ("Content-Type", "application/json"),
                        ("X-Tenant-Id", "tenant-7"),
                        ("X-Amzn-Bedrock-AgentCore-Runtime-Custom-Color", "blue"),
                        ("X-Not-Allowlisted", "dropped"),
                        ("Cookie", "session=secret"),
                        ("X-Amz-Date", "20260101T000000Z"),
                        ("X-Amz-Security-Token", "token"),
                        ("X-Amzn-Other", "internal"),
                        ("X-Forwarded-For", "203.0.113.9"),
                        ("Proxy-Authorization", "Basic Zm9vOmJhcg=="),
                        ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
                        ("baggage", "user=alice"),
                        ("Mcp-Session-Id", "mcp-123"),
                    ],
                    body: #"{"prompt":"hi"}"#
                )
                #expect(response.status == 200)
                let echoed = try TestGateway.json(response.body)
                #expect(echoed["body"] as? String == #"{"prompt":"hi"}"#)
                let headers = try #require(recorder.requests.first?.headers)
                #expect(headers[HTTPField.Name("X-Tenant-Id")!] == "tenant-7")
                #expect(headers[HTTPField.Name("X-Amzn-Bedrock-AgentCore-Runtime-Custom-Color")!] == "blue")
                #expect(headers[HTTPField.Name("traceparent")!] == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
                #expect(headers[HTTPField.Name("baggage")!] == "user=alice")
                #expect(headers[HTTPField.Name("Mcp-Session-Id")!] == "mcp-123")
                #expect(headers[.contentType] == "application/json")
                for stripped in ["Authorization", "X-Not-Allowlisted", "Cookie", "X-Amz-Date", "X-Amz-Security-Token", "X-Amzn-Other", "Proxy-Authorization"] {
                    #expect(headers[HTTPField.Name(stripped)!] == nil, "\(stripped) must not reach the agent")
                }
                #expect(headers[HTTPField.Name("X-Forwarded-For")!] == "127.0.0.1")
                #expect(headers[HTTPField.Name("X-Forwarded-Proto")!] == "http")
                #expect(headers[HTTPField.Name("X-Forwarded-Host")!] == "127.0.0.1:\(gateway.port)")
                let sessionId = try #require(response.headers.first(name: "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"))
                #expect(RuntimeSessionId.isValid(sessionId))
                #expect(headers[HTTPField.Name("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id")!] == sessionId)
                let requestId = try #require(response.headers.first(name: "x-amzn-RequestId"))
                #expect(headers[HTTPField.Name("X-Amzn-Bedrock-AgentCore-Runtime-Request-Id")!] == requestId)
            }
        }
    }

    @Test("X-API-Key callers are authenticated and the key never reaches the agent")
    func apiKeyHeader() async throws {
        try await withTestAgent({ $0.addRecordingInvocations($1) }) { agentURL, recorder in
            try await TestGateway.run { gateway in
                let arn = try await gateway.registerAgent(name: "recorder", url: agentURL)
                let response = try await gateway.send(
                    .POST, gateway.invocationURL(arn), headers: [("X-API-Key", gateway.invokeKey)], body: "{}", key: .some(nil)
                )
                #expect(response.status == 200)
                let headers = try #require(recorder.requests.first?.headers)
                #expect(headers[HTTPField.Name("X-API-Key")!] == nil)
                #expect(headers[.authorization] == nil)
                #expect(headers[.contentType] == "application/json", "a missing Content-Type defaults to JSON")
            }
        }
    }

    @Test("a session id is validated, forwarded and echoed; a new one is generated when absent")
    func sessionIds() async throws {
        try await withTestAgent({ $0.addRecordingInvocations($1) }) { agentURL, recorder in
            try await TestGateway.run { gateway in
                let arn = try await gateway.registerAgent(name: "recorder", url: agentURL)
                let sessionId = "session-" + String(repeating: "a", count: 30)
                let first = try await gateway.send(
                    .POST, gateway.invocationURL(arn), headers: [("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id", sessionId)], body: "{}"
                )
                #expect(first.status == 200)
                #expect(first.headers.first(name: "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id") == sessionId)
                #expect(recorder.requests.last?.headers[HTTPField.Name("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id")!] == sessionId)

                let a = try await gateway.send(.POST, gateway.invocationURL(arn), body: "{}")
                let b = try await gateway.send(.POST, gateway.invocationURL(arn), body: "{}")
                #expect(a.headers.first(name: "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id") != b.headers.first(name: "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"))

                let before = recorder.count
                for bad in [String(repeating: "a", count: 32), String(repeating: "a", count: 257), "bad session id with spaces and more than 33 chars", "-" + String(repeating: "a", count: 40)] {
                    let response = try await gateway.send(
                        .POST, gateway.invocationURL(arn), headers: [("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id", bad)], body: "{}"
                    )
                    #expect(response.status == 400, "session id '\(bad)'")
                    #expect(response.headers.first(name: "X-Amzn-ErrorType") == "ValidationException")
                }
                #expect(recorder.count == before, "rejected requests must not reach the agent")
            }
        }
    }

    @Test("a session belongs to the principal that created it")
    func sessionOwnership() async throws {
        try await withTestAgent({ $0.addRecordingInvocations($1) }) { agentURL, recorder in
            try await TestGateway.run { gateway in
                let arn = try await gateway.registerAgent(name: "recorder", url: agentURL)
                let other = try await gateway.gateway.apiKeys.issue(name: "other", agents: ["recorder"], administrator: false, expiresAt: nil)
                let sessionId = SecureRandom.uuid() + "-owned"
                let header = [("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id", sessionId)]
                #expect(try await gateway.send(.POST, gateway.invocationURL(arn), headers: header, body: "{}").status == 200)
                let before = recorder.count
                let hijack = try await gateway.send(.POST, gateway.invocationURL(arn), headers: header, body: "{}", key: other.key)
                #expect(hijack.status == 404)
                #expect(hijack.headers.first(name: "X-Amzn-ErrorType") == "ResourceNotFoundException")
                #expect(recorder.count == before)
                let stopByOther = try await gateway.send(.POST, gateway.invocationURL(arn, suffix: "/stopruntimesession"), headers: header, body: "{}", key: other.key)
                #expect(stopByOther.status == 404)
                let stop = try await gateway.send(
                    .POST, gateway.invocationURL(arn, suffix: "/stopruntimesession"), headers: header,
                    body: #"{"clientToken":"\#(SecureRandom.uuid())"}"#
                )
                #expect(stop.status == 200)
                #expect(stop.body == "{}")
                #expect(stop.headers.first(name: "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id") == sessionId)
                let stopAgain = try await gateway.send(.POST, gateway.invocationURL(arn, suffix: "/stopruntimesession"), headers: header, body: "{}")
                #expect(stopAgain.status == 404)
                // After the stop, the id is free: the other principal starts a fresh session with it.
                #expect(try await gateway.send(.POST, gateway.invocationURL(arn), headers: header, body: "{}", key: other.key).status == 200)
                let missingHeader = try await gateway.send(.POST, gateway.invocationURL(arn, suffix: "/stopruntimesession"), body: "{}")
                #expect(missingHeader.status == 400)
            }
        }
    }

    @Test("targets: an encoded ARN, a runtime id with accountId, qualifiers, and every bad form")
    func targetForms() async throws {
        try await withTestAgent({ $0.addRecordingInvocations($1) }) { agentURL, _ in
            try await TestGateway.run { gateway in
                let arn = try await gateway.registerAgent(name: "recorder", url: agentURL)
                let runtimeId = String(arn.split(separator: "/").last!)
                let byId = try await gateway.send(.POST, "\(gateway.baseURL)/runtimes/\(runtimeId)/invocations?accountId=123456789012", body: "{}")
                #expect(byId.status == 200)
                let byIdNoAccount = try await gateway.send(.POST, "\(gateway.baseURL)/runtimes/\(runtimeId)/invocations", body: "{}")
                #expect(byIdNoAccount.status == 200)
                let qualified = try await gateway.send(.POST, gateway.invocationURL(arn, query: "qualifier=DEFAULT"), body: "{}")
                #expect(qualified.status == 200)

                let cases: [(String, Int, String)] = [
                    ("\(gateway.baseURL)/runtimes/\(runtimeId)/invocations?accountId=999999999999", 404, "ResourceNotFoundException"),
                    ("\(gateway.baseURL)/runtimes/\(runtimeId)/invocations?accountId=12345", 400, "ValidationException"),
                    (gateway.invocationURL(arn.replacingOccurrences(of: "us-east-1", with: "eu-west-1")), 404, "ResourceNotFoundException"),
                    (gateway.invocationURL(arn.replacingOccurrences(of: "123456789012", with: "210987654321")), 404, "ResourceNotFoundException"),
                    (gateway.invocationURL(arn + "x"), 404, "ResourceNotFoundException"),
                    (gateway.invocationURL(arn, query: "qualifier=missing"), 404, "ResourceNotFoundException"),
                    (gateway.invocationURL(arn, query: "qualifier=bad-name!"), 400, "ValidationException"),
                    ("\(gateway.baseURL)/runtimes/not-a-runtime/invocations", 404, "ResourceNotFoundException"),
                ]
                for (url, status, code) in cases {
                    let response = try await gateway.send(.POST, url, body: "{}")
                    #expect(response.status == status, "\(url)")
                    #expect(response.headers.first(name: "X-Amzn-ErrorType") == code, "\(url)")
                    let envelope = try TestGateway.json(response.body)
                    #expect(envelope["__type"] as? String == code)
                    #expect((envelope["message"] as? String)?.isEmpty == false)
                }
                let malformed = try await RawConnection.with(port: gateway.port) { connection in
                    try await connection.send(
                        "POST /runtimes/arn%3Aaws%ZZ/invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(gateway.invokeKey)\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
                    )
                    return try await connection.receiveUntilClosed()
                }
                #expect(malformed.hasPrefix("HTTP/1.1 400"))
                #expect(malformed.contains("ValidationException"))
            }
        }
    }

    @Test("forwarded header values: oversized or with control characters are refused with 400")
    func badHeaderValues() async throws {
        try await withTestAgent({ $0.addRecordingInvocations($1) }) { agentURL, recorder in
            try await TestGateway.run { gateway in
                let arn = try await gateway.registerAgent(name: "recorder", url: agentURL, allowlist: ["X-Tenant-Id"])
                let oversized = try await gateway.send(
                    .POST, gateway.invocationURL(arn), headers: [("X-Tenant-Id", String(repeating: "x", count: 4097))], body: "{}"
                )
                #expect(oversized.status == 400)
                #expect(try TestGateway.json(oversized.body)["__type"] as? String == "ValidationException")
                let atLimit = try await gateway.send(
                    .POST, gateway.invocationURL(arn), headers: [("X-Tenant-Id", String(repeating: "x", count: 4096))], body: "{}"
                )
                #expect(atLimit.status == 200)
                let before = recorder.count
                let path = "/runtimes/\(PercentEncoding.encodeSegment(arn))/invocations"
                for injected in ["X-Tenant-Id: a\rb", "X-Amzn-Bedrock-AgentCore-Runtime-Custom-A: a\u{0}b", "X-Tenant-Id: a\nInjected: yes"] {
                    let raw = try await RawConnection.with(port: gateway.port) { connection in
                        try await connection.send(
                            "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(gateway.invokeKey)\r\n\(injected)\r\nContent-Length: 2\r\n\r\n{}"
                        )
                        return try await connection.receiveUntilClosed()
                    }
                    #expect(raw.hasPrefix("HTTP/1.1 400"), "\(injected.debugDescription) → \(raw.prefix(60))")
                    #expect(raw.contains("ValidationException"))
                }
                #expect(recorder.count == before)
            }
        }
    }

    @Test("agent failures become RuntimeClientError 424; 2xx statuses pass unchanged; MCP errors pass through")
    func upstreamStatuses() async throws {
        try await withTestAgent({ router, _ in
            router.post("/invocations") { request, _ in
                let body = try await request.body.collect(upTo: 1024)
                let status = Int(String(buffer: body)) ?? 200
                return Response(status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"error":"agent says \#(status)"}"#)))
            }
            router.post("/mcp") { _, _ in
                Response(status: .notFound, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"jsonrpc":"2.0"}"#)))
            }
        }) { agentURL, _ in
            try await TestGateway.run { gateway in
                let arn = try await gateway.registerAgent(name: "statuses", url: agentURL)
                for status in [200, 201, 202, 204] {
                    #expect(try await gateway.send(.POST, gateway.invocationURL(arn), body: "\(status)").status == status)
                }
                for status in [400, 404, 500, 503] {
                    let response = try await gateway.send(.POST, gateway.invocationURL(arn), body: "\(status)")
                    #expect(response.status == 424)
                    #expect(response.headers.first(name: "X-Amzn-ErrorType") == "RuntimeClientError")
                    let message = try TestGateway.json(response.body)["message"] as? String ?? ""
                    #expect(message.contains("(\(status))"))
                    #expect(message.contains("agent says \(status)"))
                }
                let mcp = try await gateway.registerAgent(name: "mcp", url: agentURL, protocol: .mcp)
                let mcpResponse = try await gateway.send(.POST, gateway.invocationURL(mcp), body: "{}")
                #expect(mcpResponse.status == 404)
                #expect(mcpResponse.body == #"{"jsonrpc":"2.0"}"#)
                #expect(mcpResponse.headers.first(name: "Mcp-Session-Id") == mcpResponse.headers.first(name: "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"))
            }
        }
    }

    @Test("an unreachable or silent agent is a 424 with a reason, never a 5xx")
    func unreachableAndSlowAgents() async throws {
        let refusing = try RefusingPort()
        try await withTestAgent({ router, _ in
            router.post("/invocations") { _, _ in
                try await Task.sleep(for: .seconds(5))
                return Response(status: .ok)
            }
        }) { slowURL, _ in
            try await TestGateway.run(configure: { $0.upstream.readTimeoutSeconds = 1 }) { gateway in
                let down = try await gateway.registerAgent(name: "down", url: refusing.url)
                let response = try await gateway.send(.POST, gateway.invocationURL(down), body: "{}")
                #expect(response.status == 424)
                #expect((try TestGateway.json(response.body)["message"] as? String)?.contains("not reachable") == true)

                let slow = try await gateway.registerAgent(name: "slow", url: slowURL)
                // The agent answers 200 after 5 s: a 424 naming the 1 s timeout means the gateway gave up first.
                let timedOut = try await gateway.send(.POST, gateway.invocationURL(slow), body: "{}")
                #expect(timedOut.status == 424)
                #expect((try TestGateway.json(timedOut.body)["message"] as? String)?.contains("did not respond within 1 s") == true)
                withExtendedLifetime(refusing) {}
            }
        }
    }

    @Test("GetAgentCard proxies the agent card")
    func agentCard() async throws {
        try await withTestAgent({ router, _ in
            router.get("/.well-known/agent-card.json") { _, _ in
                Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"name":"card-agent"}"#)))
            }
        }) { agentURL, _ in
            try await TestGateway.run { gateway in
                let arn = try await gateway.registerAgent(name: "carded", url: agentURL, protocol: .a2a)
                let response = try await gateway.send(.GET, gateway.invocationURL(arn, suffix: "/invocations/.well-known/agent-card.json"))
                #expect(response.status == 200)
                #expect(response.body == #"{"name":"card-agent"}"#)
                #expect(response.headers.first(name: "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id") != nil)
            }
        }
    }

    @Test("the gateway's own ping and readiness endpoints")
    func health() async throws {
        try await TestGateway.run { gateway in
            let ping = try await gateway.send(.GET, "\(gateway.baseURL)/ping", key: .some(nil))
            #expect(ping.status == 200)
            #expect(ping.body == #"{"status":"Healthy"}"#)
            let ready = try await gateway.send(.GET, "\(gateway.baseURL)/ready", key: .some(nil))
            #expect(ready.status == 200)
            let readiness = try #require(try JSONSerialization.jsonObject(with: Data(ready.body.utf8)) as? [String: Any])
            #expect(readiness["status"] as? String == "Ready")
            let policies = try #require(readiness["policies"] as? [String: Any])
            #expect(policies["state"] as? String == "current")
            #expect(policies["digest"] as? String == gateway.gateway.policies.status.activeDigest)
            let unknown = try await gateway.send(.GET, "\(gateway.baseURL)/nothing/here", key: .some(nil))
            #expect(unknown.status == 404)
            #expect(unknown.headers.first(name: "X-Amzn-ErrorType") == "UnknownOperationException")
        }
    }
}
