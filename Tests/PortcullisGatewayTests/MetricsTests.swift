import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
@testable import PortcullisCore
@testable import PortcullisGateway
import Testing

@Suite("Prometheus metrics")
struct MetricsTests {
    /// One sample of the exposition: a series' name, labels and value.
    struct Sample: CustomStringConvertible {
        var name: String
        var labels: [String: String]
        var value: Double
        var description: String { "\(name)\(labels) \(value)" }
    }

    /// Parses the Prometheus text format (0.0.4): `name{label="value",…} number`, `#` lines skipped; fails on a
    /// line it cannot read, so a malformed exposition fails the test.
    static func parse(_ text: String) throws -> [Sample] {
        let line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ([^ ]+)$/
        let label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/
        return try text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { raw in
            guard let match = raw.wholeMatch(of: line), let value = Double(match.3) else { throw TestFailure("not an exposition line: \(raw)") }
            var labels: [String: String] = [:]
            if let body = match.2 {
                for found in body.matches(of: label) { labels[String(found.1)] = String(found.2) }
            }
            return Sample(name: String(match.1), labels: labels, value: value)
        }
    }

    static func value(_ samples: [Sample], _ name: String, _ labels: [String: String] = [:]) -> Double {
        samples.filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }.map(\.value).reduce(0, +)
    }

    @Test("after known traffic, /metrics on its own listener counts requests, stages, refusals and decisions, with bounded labels")
    func countsKnownTraffic() async throws {
        let metricsPort = try RefusingPort.free()
        try await withTestAgent({ $0.addRecordingInvocations($1) }) { agentURL, _ in
            try await TestGateway.run(configure: { $0.metrics.listen = ListenAddress(host: "127.0.0.1", port: metricsPort) }) { gateway in
                let arn = try await gateway.registerAgent(name: "metered", url: agentURL)
                let runtimeId = String(arn.split(separator: "/").last!)
                var sessions: [String] = []
                for index in 0..<3 {
                    let session = "metrics-session-\(index)-" + String(repeating: "s", count: 33)
                    sessions.append(session)
                    let answer = try await gateway.send(
                        .POST, gateway.invocationURL(arn), headers: [("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id", session)], body: #"{"prompt":"hi"}"#
                    )
                    #expect(answer.status == 200, "\(answer.body)")
                }
                let wrongSecret = String(gateway.invokeKey.dropLast(4)) + "AAAA"
                for _ in 0..<2 {
                    #expect(try await gateway.send(.POST, gateway.invocationURL(arn), body: "{}", key: wrongSecret).status == 401)
                }
                // Not served on the gateway's own listener.
                #expect(try await gateway.send(.GET, "\(gateway.baseURL)/metrics").status == 404)

                let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(metricsPort)/metrics"), timeout: .seconds(10))
                #expect(response.status.code == 200)
                #expect(response.headers.first(name: "content-type") == MetricsListener.contentType)
                let text = try await response.body.collect(upTo: 4 * 1024 * 1024).string
                let samples = try Self.parse(text)

                let route = try #require(
                    samples.first { $0.name == "portcullis_requests_total" && $0.labels["agent_runtime"] == runtimeId }?.labels["route"], "\(text)"
                )
                #expect(route == "/runtimes/{runtime}/invocations", "the route is the path pattern, never the raw path")
                #expect(Self.value(samples, "portcullis_requests_total", ["route": route, "agent_runtime": runtimeId, "status": "200"]) == 3)
                #expect(Self.value(samples, "portcullis_requests_total", ["route": route, "agent_runtime": "", "status": "401"]) == 2, "refused before the runtime was resolved")
                #expect(Self.value(samples, "portcullis_request_duration_seconds_count", ["route": route]) == 5)
                #expect(Self.value(samples, "portcullis_request_duration_seconds_bucket", ["route": route, "le": "+Inf"]) == 5)
                for stage in ["authentication", "authorization", "session", "forward"] {
                    #expect(Self.value(samples, "portcullis_request_stage_duration_seconds_count", ["stage": stage]) == 3, "stage \(stage)")
                }
                #expect(Self.value(samples, "portcullis_authentication_failures_total", ["surface": "data_plane", "reason": "invalid_credentials"]) == 2)
                #expect(Self.value(samples, "portcullis_policy_decisions_total", ["action": "InvokeAgent", "decision": "allow"]) == 3)
                #expect(Self.value(samples, "portcullis_policy_decisions_total", ["decision": "deny"]) == 0)

                // Bounded labels: no session id, request id or credential anywhere in the exposition.
                for session in sessions { #expect(!text.contains(session)) }
                #expect(!text.contains(gateway.invokeKey) && !text.contains(wrongSecret))
                #expect(!text.contains("x-amzn-RequestId") && samples.allSatisfy { $0.labels.keys.allSatisfy { !$0.contains("session") && !$0.contains("request_id") } })
            }
        }
    }

    @Test("a metric keeps a bounded number of label combinations; past it, new ones count under `other`")
    func seriesAreBounded() throws {
        let metrics = GatewayMetrics()
        for index in 0..<(GatewayMetrics.maxSeriesPerMetric + 50) {
            metrics.increment(.requests, "/route", "runtime-\(index)", "200")
        }
        let samples = try Self.parse(String(decoding: metrics.exposition(), as: UTF8.self))
        let series = samples.filter { $0.name == "portcullis_requests_total" }
        #expect(series.count == GatewayMetrics.maxSeriesPerMetric + 1)
        #expect(Self.value(samples, "portcullis_requests_total", ["agent_runtime": "other"]) == 50)
        #expect(Self.value(samples, "portcullis_requests_total") == Double(GatewayMetrics.maxSeriesPerMetric + 50), "nothing lost")
    }
}
