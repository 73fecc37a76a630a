import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import PortcullisCore
import PortcullisIdentity

/// `portcullis invoke`: calls an agent with the token `portcullis login` kept, streaming the answer to standard
/// output. An expired token is refreshed first when the identity provider gave a refresh token.
struct InvokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invoke",
        abstract: "Invoke an agent runtime with the token kept by `portcullis login`; the answer streams to standard output."
    )

    @OptionGroup var target: GatewayOptions

    @Option(name: .long, help: "The runtime's ARN, or an agent name listed in the dev gateway's dev.json.")
    var agent: String

    @Option(name: .long, help: "The JSON payload (default {}).")
    var payload: String = "{}"

    @Option(name: .long, help: "Read the payload from this file instead.")
    var payloadFile: String?

    @Option(name: .long, help: "Continue this runtime session (33-256 characters).")
    var session: String?

    @Option(name: .long, help: "The endpoint to invoke (default DEFAULT).")
    var qualifier: String?

    @Option(name: .long, help: "Use the token from this issuer when several are kept for the gateway.")
    var issuer: String?

    func run() async throws {
        let gateway = try target.url()
        let arn = try resolveARN()
        let token = try await Self.currentToken(gateway: gateway, issuer: issuer)
        let body: ByteBuffer
        if let payloadFile {
            guard let data = FileManager.default.contents(atPath: payloadFile) else { throw ValidationError("Cannot read \(payloadFile)") }
            body = ByteBuffer(bytes: data)
        } else {
            body = ByteBuffer(string: payload)
        }
        var url = "\(gateway)/runtimes/\(PercentEncoding.encodeSegment(arn))/invocations"
        if let qualifier { url += "?qualifier=" + PercentEncoding.encodeSegment(qualifier) }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json, text/event-stream")
        if let session { request.headers.add(name: "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id", value: session) }
        request.body = .bytes(body)
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(900))
        if let sessionId = response.headers.first(name: "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id") {
            FileHandle.standardError.write(Data("session: \(sessionId)\n".utf8))
        }
        guard (200..<300).contains(response.status.code) else {
            let text = String(buffer: try await response.body.collect(upTo: 64 * 1024))
            let members = try? StrictJSON.parseObject(Array(text.utf8))
            let type = members?["__type"]?.stringValue ?? "HTTP \(response.status.code)"
            throw CommandFailure("\(type): \(members?["message"]?.stringValue ?? text)")
        }
        for try await chunk in response.body {
            FileHandle.standardOutput.write(Data(chunk.readableBytesView))
        }
    }

    private func resolveARN() throws -> String {
        if agent.hasPrefix("arn:") { return agent }
        guard let arn = target.devState()?["agents"]?[agent]?.stringValue else {
            throw ValidationError("Give the runtime's ARN; '\(agent)' is not an agent listed in \(target.data)/dev.json")
        }
        return arn
    }

    /// The kept token, refreshed (and saved) when it expires within a minute.
    static func currentToken(gateway: String, issuer: String?) async throws -> String {
        let file = TokenFile()
        guard var entry = file.entry(gateway: gateway, issuer: issuer) else {
            throw CommandFailure("No token kept for \(gateway)\(issuer.map { " and issuer \($0)" } ?? ""): run `portcullis login` first")
        }
        guard let expiresAt = entry.expiresAt, expiresAt < Date().addingTimeInterval(60) else { return entry.accessToken }
        guard let refreshToken = entry.refreshToken else {
            throw CommandFailure("The kept token has expired: run `portcullis login` again")
        }
        let client = OAuthClient(clientId: entry.clientId, clientSecret: nil)
        let refreshed: OAuthTokenResponse
        do {
            refreshed = try await client.refresh(refreshToken, tokenEndpoint: entry.tokenEndpoint)
        } catch {
            throw CommandFailure("The kept token could not be refreshed (\(error.code)): run `portcullis login` again")
        }
        entry.accessToken = refreshed.accessToken
        entry.refreshToken = refreshed.refreshToken ?? refreshToken
        entry.expiresAt = refreshed.expiresIn.map { Date().addingTimeInterval(TimeInterval($0)) }
        try file.save(entry)
        return entry.accessToken
    }
}
