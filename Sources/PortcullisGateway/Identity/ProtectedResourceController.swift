import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PortcullisCore
import PortcullisIdentity

/// OAuth 2.0 Protected Resource Metadata (RFC 9728): for each runtime with a JWT authorizer, which authorization
/// server issues tokens for it and which scopes it accepts — what MCP clients read from the bearer challenge's
/// `resource_metadata` to find where to sign in. Public by design, like the challenge that points here.
struct ProtectedResourceController: Sendable {
    let resolver: RuntimeResolver
    let issuers: IssuerRegistry
    let names: ResourceNames
    let baseURL: PublicBaseURL

    func register(on router: Router<GatewayRequestContext>) {
        router.get("/.well-known/oauth-protected-resource/runtimes/:runtime/invocations", use: runtimeMetadata)
    }

    @Sendable func runtimeMetadata(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        guard let segment = context.parameters.get("runtime", as: Substring.self) else {
            throw AgentCoreError.invalidField("agentRuntimeArn", "Member is required")
        }
        let query = QueryParameters(request.uri.query)
        let resolved = try await resolver.resolve(try InvocationTarget(rawSegment: segment, query: query, names: names))
        guard let authorizer = resolved.authorizer, let base = baseURL.resolve(authority: request.head.authority) else {
            throw AgentCoreError.notFound("Agent runtime \(resolved.runtime.name) does not take OAuth bearer tokens")
        }
        let issuer = try? issuers.issuer(forDiscoveryURL: authorizer.discoveryURL)
        let authorizationServer = issuer?.metadata?.issuer.replacingTemplate()
            ?? String(authorizer.discoveryURL.dropLast(CustomJWTAuthorizer.discoverySuffix.count))
        var members: [String: JSONValue] = [
            "resource": .string(base + PublicBaseURL.resourcePath(runtimeARN: resolved.arn)),
            "authorization_servers": .array([.string(authorizationServer)]),
            "bearer_methods_supported": .array([.string("header")]),
            "resource_name": .string(resolved.runtime.name),
        ]
        if let scopes = authorizer.allowedScopes {
            members["scopes_supported"] = .array(scopes.map(JSONValue.string))
        }
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "max-age=300"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONValue.object(members).serialized())))
    }
}

extension String {
    /// An Entra multi-tenant issuer names `{tenantid}`; clients sign in through `organizations` instead.
    fileprivate func replacingTemplate() -> String {
        replacingOccurrences(of: "{tenantid}", with: "organizations")
    }
}
