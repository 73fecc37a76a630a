import Foundation
import HTTPTypes
import PortcullisCore
import PortcullisSessions

/// What the gateway endpoint inside each sandbox answers (``SandboxEndpointAddress``): the token vault's reads,
/// on their AgentCore paths, so the `bedrock-agentcore` SDK's decorators work unmodified. The caller is the
/// sandbox's agent; its requests are signed with placeholder credentials the endpoint does not check — where the
/// connection comes from, and the workload access token, are what count.
struct SandboxEndpointRoutes: Sendable {
    let vault: VaultDataPlane

    func handle(_ request: SandboxEndpointRequest) async -> SandboxEndpointResponse {
        let requestId = RequestIdentifier.next()
        let path = String(request.target.prefix { $0 != "?" })
        do throws(AgentCoreError) {
            guard request.method == "POST" else { throw AgentCoreError(.unknownOperation, "No operation at \(request.method) \(path) in the sandbox endpoint") }
            let fields = try RequestFields(body: Data(request.body))
            let caller = AccessPolicy.Caller(requestId: requestId, sourceAddress: nil, headers: HTTPFields())
            let origin = VaultDataPlane.Origin.sandbox(runtimeId: request.runtimeId)
            let result: JSONValue
            switch path {
            case "/identities/api-key":
                result = try await vault.resourceAPIKey(fields, origin: origin, caller: caller)
            case "/identities/oauth2/token":
                result = try await vault.resourceOAuth2Token(fields, origin: origin, caller: caller)
            default:
                throw AgentCoreError(.unknownOperation, "No operation at POST \(path) in the sandbox endpoint")
            }
            return SandboxEndpointResponse(
                status: 200, headers: [("Content-Type", "application/json"), ("x-amzn-RequestId", requestId)], body: result.serialized()
            )
        } catch {
            return SandboxEndpointResponse(
                status: error.code.httpStatus,
                headers: [("Content-Type", "application/json"), ("X-Amzn-ErrorType", error.code.rawValue), ("x-amzn-RequestId", requestId)],
                body: Array(error.envelopeJSON())
            )
        }
    }
}
