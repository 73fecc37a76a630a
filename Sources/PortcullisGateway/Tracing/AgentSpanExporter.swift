import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import PortcullisCore

/// Sends the spans agents export inside their sandboxes on to the collector, tagged with their session and agent
/// runtime (``OTLPResourceTags``). The agent gets the collector's answer, so its SDK's retry rules apply.
struct AgentSpanExporter: Sendable {
    let endpoint: String
    /// `OTEL_EXPORTER_OTLP_TRACES_HEADERS` (else `OTEL_EXPORTER_OTLP_HEADERS`): the collector's credentials, read
    /// from the environment as for the gateway's own exporter.
    let collectorHeaders: [(String, String)]
    let logger: Logger

    static let timeout = TimeAmount.seconds(10)

    /// The exporter for `configuration`, `nil` when agents get no receiver.
    static func make(_ configuration: TracingConfiguration, environment: [String: String], logger: Logger) -> AgentSpanExporter? {
        guard let endpoint = configuration.endpoint, configuration.agentReceiver else { return nil }
        let headers = environment["OTEL_EXPORTER_OTLP_TRACES_HEADERS"] ?? environment["OTEL_EXPORTER_OTLP_HEADERS"] ?? ""
        return AgentSpanExporter(endpoint: endpoint, collectorHeaders: parseHeaders(headers), logger: logger)
    }

    struct Answer: Sendable {
        var status: Int
        var contentType: String?
        var body: [UInt8]
    }

    /// Tags and forwards one export. Bad input is the agent's problem (400/415), a collector that cannot be reached
    /// the gateway's (502), and neither says more than its class.
    func export(_ body: [UInt8], contentType: String?, contentEncoding: String?, tags: [(key: String, value: String)]) async -> Answer {
        guard contentEncoding == nil || contentEncoding == "identity" else {
            return Answer(status: 415, contentType: "text/plain", body: Array("Send spans uncompressed: the gateway tags them before forwarding".utf8))
        }
        let mediaType = contentType?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        let tagged: [UInt8]
        do {
            switch mediaType {
            case "application/x-protobuf", "application/protobuf":
                tagged = try OTLPResourceTags.tag(protobuf: body, with: tags)
            case "application/json":
                tagged = try OTLPResourceTags.tag(json: body, with: tags)
            default:
                return Answer(status: 415, contentType: "text/plain", body: Array("OTLP/HTTP takes application/x-protobuf or application/json".utf8))
            }
        } catch {
            return Answer(status: 400, contentType: "text/plain", body: Array("The body is not an OTLP trace export".utf8))
        }
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: mediaType!)
        for (name, value) in collectorHeaders { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: tagged))
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: Self.timeout)
            let answer = try await response.body.collect(upTo: 1 << 20)
            return Answer(status: Int(response.status.code), contentType: response.headers.first(name: "Content-Type"), body: Array(answer.readableBytesView))
        } catch {
            logger.warning("agent spans could not be forwarded to the collector", metadata: ["error": "\(String(describing: type(of: error)))"])
            return Answer(status: 502, contentType: "text/plain", body: Array("The collector could not be reached".utf8))
        }
    }

    /// `key=value,key2=value2` with percent-encoded values, as the OpenTelemetry specification defines the header
    /// variables. Malformed entries are skipped.
    static func parseHeaders(_ text: String) -> [(String, String)] {
        text.split(separator: ",").compactMap { entry in
            let parts = entry.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { return nil }
            let name = parts[0].trimmingCharacters(in: .whitespaces)
            let value = parts[1].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else { return nil }
            return (name, value.removingPercentEncoding ?? value)
        }
    }
}
