import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
@testable import PortcullisCore
@testable import PortcullisGateway
import PortcullisSessions
import Synchronization
import Testing

@Suite("OpenTelemetry traces over OTLP/HTTP", .enabled(if: ExternalProcess.python != nil, "run scripts/install-test-deps.sh first"))
struct TracingTests {
    static let receiverScript = packageRoot.appendingPathComponent("Tests/interop/otlp_receiver.py").path

    /// A span as the receiver decoded it.
    struct ReceivedSpan {
        var traceId: String
        var spanId: String
        var parentSpanId: String
        var name: String
        /// OTLP's `SpanKind`: 2 server, 3 client, 1 internal.
        var kind: Int
        var attributes: [String: Any]
        var resource: [String: Any]
        var status: Int
        /// Start and end, seconds since 1970.
        var start: Double
        var end: Double

        init(_ object: [String: Any]) {
            traceId = object["traceId"] as? String ?? ""
            spanId = object["spanId"] as? String ?? ""
            parentSpanId = object["parentSpanId"] as? String ?? ""
            name = object["name"] as? String ?? ""
            kind = object["kind"] as? Int ?? 0
            attributes = object["attributes"] as? [String: Any] ?? [:]
            resource = object["resource"] as? [String: Any] ?? [:]
            status = object["status"] as? Int ?? 0
            start = Double(object["startNanos"] as? Int ?? 0) / 1e9
            end = Double(object["endNanos"] as? Int ?? 0) / 1e9
        }
    }

    /// Runs the OTLP receiver on a free loopback port for the duration of `body`.
    static func withReceiver<T: Sendable>(_ body: (_ port: Int, _ spans: @Sendable () async throws -> [ReceivedSpan]) async throws -> T) async throws -> T {
        let python = try #require(ExternalProcess.python)
        let port = try RefusingPort.free()
        let receiver = try RunningProcess(python, [receiverScript, "serve", String(port)])
        defer { receiver.terminate() }
        _ = try await receiver.waitFor("(listening)", timeout: .seconds(30))
        return try await body(port) {
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/spans"), timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 16 << 20)
            let objects = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [[String: Any]] ?? []
            return objects.map(ReceivedSpan.init)
        }
    }

    /// Polls the receiver until `done` holds for what it has.
    static func spans(
        _ fetch: @Sendable () async throws -> [ReceivedSpan],
        until done: ([ReceivedSpan]) -> Bool
    ) async throws -> [ReceivedSpan] {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            let spans = try await fetch()
            if done(spans) || ContinuousClock.now > deadline { return spans }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    static func tracing(_ port: Int) -> TracingConfiguration {
        TracingConfiguration(endpoint: "http://127.0.0.1:\(port)/v1/traces", exportDelaySeconds: 0.1)
    }

    static func hex(_ count: Int) -> String {
        Hex.encode((0..<count).map { _ in UInt8.random(in: 0...255) })
    }

    @Test("an invocation is a server span under the caller's traceparent, with authenticate, authorize, session.acquire and forward beneath it; the agent gets the forward span as its parent")
    func invocationSpans() async throws {
        try await Self.withReceiver { port, fetch in
            try await withTestAgent({ $0.addRecordingInvocations($1) }) { agentURL, recorder in
                try await TestGateway.run(configure: { $0.tracing = Self.tracing(port) }) { gateway in
                    let arn = try await gateway.registerAgent(name: "traced", url: agentURL)
                    let runtimeId = String(arn.split(separator: "/").last!)
                    let traceId = Self.hex(16)
                    let callerSpan = Self.hex(8)
                    let session = "trace-session-" + String(repeating: "t", count: 30)
                    for _ in 0..<2 {
                        let answer = try await gateway.send(
                            .POST, gateway.invocationURL(arn),
                            headers: [("traceparent", "00-\(traceId)-\(callerSpan)-01"), ("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id", session)],
                            body: #"{"prompt":"hi"}"#
                        )
                        #expect(answer.status == 200, "\(answer.body)")
                    }
                    let spans = try await Self.spans(fetch) { spans in spans.filter { $0.traceId == traceId }.count >= 10 }
                    let trace = spans.filter { $0.traceId == traceId }
                    let servers = trace.filter { $0.name == "POST /runtimes/{runtime}/invocations" }
                    try #require(servers.count == 2, "\(trace.map(\.name))")
                    for server in servers {
                        #expect(server.parentSpanId == callerSpan, "the caller's span is the parent")
                        #expect(server.kind == 2)
                        #expect(server.attributes["http.route"] as? String == "/runtimes/{runtime}/invocations")
                        #expect(server.attributes["http.response.status_code"] as? Int == 200)
                        #expect(server.attributes["gen_ai.agent.id"] as? String == runtimeId)
                        #expect(server.attributes["session.id"] as? String == session)
                        #expect(server.resource["service.name"] as? String == "portcullis")
                        let children = trace.filter { $0.parentSpanId == server.spanId }
                        #expect(Set(children.map(\.name)) == ["authenticate", "authorize", "session.acquire", "forward"], "\(children.map(\.name))")
                        #expect(children.first { $0.name == "forward" }?.kind == 3, "forwarding is a client span")
                        #expect(children.first { $0.name == "authorize" }?.attributes["portcullis.policy.action"] as? String == "InvokeAgent")
                    }
                    let acquisitions = trace.filter { $0.name == "session.acquire" }.compactMap { $0.attributes["portcullis.session.acquisition"] as? String }
                    #expect(acquisitions.sorted() == ["opened", "reused"], "the first call opens the session, the second reuses it")
                    // The agent's parent is the forwarding span of its call, not the caller's span.
                    let forwards = Set(trace.filter { $0.name == "forward" }.map(\.spanId))
                    let received = recorder.requests.compactMap { $0.headers[HTTPField.Name("traceparent")!] }
                    #expect(received.count == 2)
                    for traceparent in received {
                        let parts = traceparent.split(separator: "-").map(String.init)
                        #expect(parts.count == 4 && parts[1] == traceId && forwards.contains(parts[2]), "\(traceparent) vs \(forwards)")
                    }
                }
            }
        }
    }

    @Test("a streamed answer's server and forward spans end when the stream does, not when its head arrives")
    func streamedAnswerSpans() async throws {
        let lastFrameWritten = Mutex(0.0)
        try await Self.withReceiver { port, fetch in
            try await withTestAgent({ router, _ in
                router.post("/invocations") { _, _ in
                    Response(
                        status: .ok,
                        headers: [.contentType: "text/event-stream"],
                        body: ResponseBody { writer in
                            try await writer.write(ByteBuffer(string: "data: {\"n\":1}\n\n"))
                            try await Task.sleep(for: .milliseconds(300))
                            lastFrameWritten.withLock { $0 = Date().timeIntervalSince1970 }
                            try await writer.write(ByteBuffer(string: "data: {\"n\":2}\n\n"))
                            try await writer.finish(nil)
                        }
                    )
                }
            }) { agentURL, _ in
                try await TestGateway.run(configure: { $0.tracing = Self.tracing(port) }) { gateway in
                    let arn = try await gateway.registerAgent(name: "streaming", url: agentURL)
                    let answer = try await gateway.send(.POST, gateway.invocationURL(arn), headers: [("Accept", "text/event-stream")], body: "{}")
                    #expect(answer.status == 200 && answer.body.contains("{\"n\":2}"), "\(answer.body)")
                    let spans = try await Self.spans(fetch) { spans in spans.contains { $0.name == "forward" } && spans.contains { $0.kind == 2 } }
                    let server = try #require(spans.first { $0.kind == 2 && $0.name == "POST /runtimes/{runtime}/invocations" })
                    let forward = try #require(spans.first { $0.name == "forward" && $0.parentSpanId == server.spanId })
                    let written = lastFrameWritten.withLock { $0 }
                    #expect(written > 0)
                    #expect(forward.end >= written, "forwarding ends after the agent's last frame: ended \(forward.end), frame at \(written)")
                    #expect(server.end >= forward.end, "the server span ends after forwarding")
                    #expect(server.status != 2 && forward.status != 2)
                }
            }
        }
    }

    @Test("without a traceparent a new trace starts; a refused call is a span with its status, and nothing of the credential is in any span")
    func refusedCallSpan() async throws {
        try await Self.withReceiver { port, fetch in
            try await withTestAgent({ $0.addRecordingInvocations($1) }) { agentURL, _ in
                try await TestGateway.run(configure: { $0.tracing = Self.tracing(port) }) { gateway in
                    let arn = try await gateway.registerAgent(name: "refusing", url: agentURL)
                    let wrongSecret = String(gateway.invokeKey.dropLast(4)) + "AAAA"
                    #expect(try await gateway.send(.POST, gateway.invocationURL(arn), body: "{}", key: wrongSecret).status == 401)
                    let spans = try await Self.spans(fetch) { spans in spans.contains { $0.attributes["http.response.status_code"] as? Int == 401 } }
                    let server = try #require(spans.first { $0.attributes["http.response.status_code"] as? Int == 401 })
                    #expect(server.parentSpanId.isEmpty, "a root span")
                    let authentication = try #require(spans.first { $0.name == "authenticate" && $0.parentSpanId == server.spanId })
                    #expect(authentication.status == 2, "failed authentication marks its span as an error")
                    let everything = String(describing: spans.map { [$0.attributes, $0.resource] })
                    #expect(!everything.contains(String(gateway.invokeKey.prefix(16))), "no part of a key in spans")
                    #expect(!everything.contains(wrongSecret))
                }
            }
        }
    }

    @Test("agents' protobuf exports get the gateway's session and agent attributes on every resource; forged ones are dropped, the rest kept byte for byte")
    func protobufTagging() async throws {
        let python = try #require(ExternalProcess.python)
        let encoded = try await ExternalProcess.run(python, [Self.receiverScript, "encode"])
        try #require(encoded.status == 0, "\(encoded.error)")
        let bytes = try #require(Hex.decode(encoded.output.trimmingCharacters(in: .whitespacesAndNewlines)))
        let tagged = try OTLPResourceTags.tag(protobuf: bytes, with: [("portcullis.session.id", "session-1"), ("portcullis.agent_runtime.id", "runtime-1")])
        let decoded = try await ExternalProcess.run(python, [Self.receiverScript, "decode", Hex.encode(tagged)])
        try #require(decoded.status == 0, "\(decoded.error)")
        let resources = try #require(try JSONSerialization.jsonObject(with: Data(decoded.output.utf8)) as? [[String: Any]])
        #expect(resources.count == 2)
        for (index, service) in ["first", "second"].enumerated() {
            let attributes = (resources[index]["resource"] as? [[String]]) ?? []
            #expect(attributes == [["service.name", service], ["portcullis.session.id", "session-1"], ["portcullis.agent_runtime.id", "runtime-1"]], "\(attributes)")
            #expect(resources[index]["spans"] as? [String] == ["\(service).span"])
            #expect(resources[index]["schemaUrl"] as? String == "https://opentelemetry.io/schemas/1.24.0")
        }
        #expect(throws: OTLPResourceTags.Malformed.self) { try OTLPResourceTags.tag(protobuf: [0x0A, 0xFF], with: []) }
        #expect(throws: OTLPResourceTags.Malformed.self) { try OTLPResourceTags.tag(protobuf: Array("not protobuf at all".utf8), with: []) }
    }

    @Test(
        "an agent in a sandbox exports its spans to the receiver in its sandbox: they join the invocation's trace, tagged with the session and agent; its vault calls are spans under the invocation",
        .enabled(if: canRunSandboxes, "needs root and bubblewrap")
    )
    func agentSpansFromTheSandbox() async throws {
        try await Self.withReceiver { port, fetch in
            try await TestGateway.run(configure: { configuration in
                configuration.tracing = Self.tracing(port)
                SandboxTests.declareProbe(in: &configuration)
            }) { gateway in
                let arn = try #require(try await gateway.gateway.runtimeARN(named: "probe"))
                let runtimeId = String(arn.split(separator: "/").last!)
                let session = SandboxTests.session("o")
                let exported = try await SandboxTests.probe(gateway, arn, session: session, ["action": "spans"])
                let result = try #require(exported.json["ok"] as? [String: Any], "\(exported.json)")
                #expect(result["status"] as? Int == 200, "the collector's answer reaches the agent: \(result)")
                #expect(result["protocol"] as? String == "http/protobuf", "the SDK variables name the receiver")
                let traceId = try #require((result["traceparent"] as? String)?.split(separator: "-").dropFirst().first.map(String.init))
                let vault = try await SandboxTests.probe(gateway, arn, session: session, ["action": "vault", "provider": "no-such-provider"])
                #expect(((vault.json["ok"] as? [String: Any])?["status"] as? Int ?? 0) >= 400, "an unknown provider is refused: \(vault.json)")

                // The forward span over the vault call ends after the call's response, so it may arrive in a later export.
                let spans = try await Self.spans(fetch) { spans in
                    guard spans.contains(where: { $0.name == "agent.reasoning" }), let vault = spans.first(where: { $0.name == "vault GetResourceApiKey" }) else {
                        return false
                    }
                    return spans.contains { $0.spanId == vault.parentSpanId }
                }
                let agentSpan = try #require(spans.first { $0.name == "agent.reasoning" })
                #expect(agentSpan.traceId == traceId, "the agent's span joins the invocation's trace")
                let forward = try #require(spans.first { $0.spanId == agentSpan.parentSpanId }, "its parent is a gateway span")
                #expect(forward.name == "forward")
                #expect(agentSpan.resource["portcullis.session.id"] as? String == session, "the gateway's tag replaces the forged one: \(agentSpan.resource)")
                #expect(agentSpan.resource["portcullis.agent_runtime.id"] as? String == runtimeId)
                #expect(agentSpan.resource["service.name"] as? String == "probe-agent", "the agent's own attributes stay")
                #expect(agentSpan.attributes["gen_ai.operation.name"] as? String == "chat")

                let vaultSpan = try #require(spans.first { $0.name == "vault GetResourceApiKey" })
                let vaultParent = try #require(spans.first { $0.spanId == vaultSpan.parentSpanId }, "under the invocation that caused it")
                #expect(vaultParent.name == "forward" && vaultParent.traceId == vaultSpan.traceId)
                #expect(vaultSpan.attributes["session.id"] as? String == session)
                #expect(vaultSpan.status == 2, "a refused vault call is an error span")
            }
        }
    }
}
