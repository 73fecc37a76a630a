import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import PortcullisCore

/// The gateway and credential an administrative command uses: `--gateway` (see ``GatewayOptions``) and, in this
/// order, `--api-key`, `PORTCULLIS_API_KEY`, the token `portcullis login` kept for the gateway, or the dev
/// gateway's key from `dev.json`.
struct AdminOptions: ParsableArguments {
    @OptionGroup var target: GatewayOptions

    @Option(name: .long, help: "An administrator API key (default: $PORTCULLIS_API_KEY, else the login token, else the dev gateway's key).")
    var apiKey: String?

    @Option(name: .long, help: "Use the token from this issuer when several are kept for the gateway.")
    var issuer: String?

    func client() async throws -> AdminClient {
        let gateway = try target.url()
        if let apiKey { return AdminClient(gateway: gateway, bearer: apiKey) }
        if let key = ProcessInfo.processInfo.environment["PORTCULLIS_API_KEY"], !key.isEmpty {
            return AdminClient(gateway: gateway, bearer: key)
        }
        if TokenFile().entry(gateway: gateway, issuer: issuer) != nil {
            return AdminClient(gateway: gateway, bearer: try await InvokeCommand.currentToken(gateway: gateway, issuer: issuer))
        }
        if let key = target.devState()?["apiKey"]?.stringValue {
            return AdminClient(gateway: gateway, bearer: key)
        }
        throw ValidationError("Give an administrator credential: --api-key, PORTCULLIS_API_KEY, or `portcullis login`")
    }
}

/// Calls the gateway's administrative API and turns its AgentCore error envelopes into command failures.
struct AdminClient {
    let gateway: String
    let bearer: String

    /// GETs `path` (with its query) and returns the body.
    func get(_ path: String) async throws -> ByteBuffer {
        try await send(.GET, path)
    }

    func delete(_ path: String) async throws {
        _ = try await send(.DELETE, path)
    }

    func getJSON(_ path: String) async throws -> [String: JSONValue] {
        let body = try await get(path)
        guard let object = try? StrictJSON.parseObject(Array(body.readableBytesView)) else {
            throw CommandFailure("The gateway's answer is not a JSON object")
        }
        return object
    }

    private func send(_ method: HTTPMethod, _ path: String) async throws -> ByteBuffer {
        var request = HTTPClientRequest(url: gateway + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(bearer)")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 16 << 20)
        guard (200..<300).contains(response.status.code) else {
            let members = try? StrictJSON.parseObject(Array(body.readableBytesView))
            let type = members?["__type"]?.stringValue ?? "HTTP \(response.status.code)"
            throw CommandFailure("\(type): \(members?["message"]?.stringValue ?? String(buffer: body))")
        }
        return body
    }

    /// A query string from the parameters that are set.
    static func query(_ parameters: [(String, String?)]) -> String {
        let set = parameters.compactMap { name, value in value.map { "\(name)=\(PercentEncoding.encodeSegment($0))" } }
        return set.isEmpty ? "" : "?" + set.joined(separator: "&")
    }

    /// `--since`/`--until` (see ``CredentialOptions/pastDate(_:option:)``) as the API takes it.
    static func time(_ text: String?, option: String) throws -> String? {
        try CredentialOptions.pastDate(text, option: option)?.formatted(.iso8601)
    }
}
