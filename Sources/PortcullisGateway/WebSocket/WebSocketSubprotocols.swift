import Foundation
import HTTPTypes

/// The `Sec-WebSocket-Protocol` offer of a client, split into the bearer credential browsers smuggle there
/// (`base64UrlBearerAuthorization.<base64url token>`, as AgentCore's WebSocket clients do) and the protocols meant
/// for the agent.
struct WebSocketSubprotocols: Sendable {
    static let bearerMarker = "base64UrlBearerAuthorization"

    /// The decoded bearer token, if the offer carried one.
    var bearerToken: String?
    /// Whether the client offered the bearer marker, which the gateway then selects if the agent selects nothing.
    var offeredBearerMarker = false
    /// Protocols for the agent, in the client's order.
    var forwarded: [String] = []

    init(_ headers: HTTPFields) {
        for value in headers[values: .secWebSocketProtocol] {
            for token in value.split(separator: ",") {
                let item = token.trimmingCharacters(in: .whitespaces)
                if item == Self.bearerMarker {
                    offeredBearerMarker = true
                } else if item.hasPrefix(Self.bearerMarker + ".") {
                    bearerToken = Self.decodeBase64URL(item.dropFirst(Self.bearerMarker.count + 1))
                    offeredBearerMarker = true
                } else if !item.isEmpty {
                    forwarded.append(item)
                }
            }
        }
    }

    static func decodeBase64URL(_ text: Substring) -> String? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64) else { return nil }
        return String(data: data, encoding: .utf8)
    }
}
