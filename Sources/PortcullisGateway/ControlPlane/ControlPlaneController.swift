import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PortcullisCore
import PortcullisIdentity
import PortcullisPolicy

/// The AgentCore control plane subset for runtimes, versions and endpoints, on the modelled paths (with and
/// without their trailing slashes) and with the modelled status codes. Each operation is a Cedar action
/// (`Action::"CreateAgentRuntime"`, …, in the group `Action::"Administer"`) on the runtime it names, or on the
/// gateway for listing; the shipped policies allow administrator credentials only.
struct ControlPlaneController: Sendable {
    let registry: AgentRuntimeRegistry
    let authenticators: AuthenticatorChain
    let access: AccessPolicy
    let idempotency: IdempotencyGuard
    let names: ResourceNames
    let maxBodyBytes: Int
    let audit: AuditLog
    let logger: Logger

    func register(on router: Router<GatewayRequestContext>) {
        router.put("/runtimes", use: createRuntime)
        router.post("/runtimes", use: listRuntimes)
        router.get("/runtimes/:runtime", use: getRuntime)
        router.put("/runtimes/:runtime", use: updateRuntime)
        router.delete("/runtimes/:runtime", use: deleteRuntime)
        router.post("/runtimes/:runtime/versions", use: listVersions)
        router.put("/runtimes/:runtime/runtime-endpoints", use: createEndpoint)
        router.post("/runtimes/:runtime/runtime-endpoints", use: listEndpoints)
        router.get("/runtimes/:runtime/runtime-endpoints/:endpoint", use: getEndpoint)
        router.put("/runtimes/:runtime/runtime-endpoints/:endpoint", use: updateEndpoint)
        router.delete("/runtimes/:runtime/runtime-endpoints/:endpoint", use: deleteEndpoint)
    }

    // MARK: - Runtimes

    @Sendable func createRuntime(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (principal, bodyBytes) = try await authenticate(request)
        let fields = try Self.fields(bodyBytes)
        let parsed = try AgentRuntimeRequest(fields, isCreate: true)
        let proposed = AgentFacts(
            name: parsed.name!,
            serverProtocol: parsed.configuration.protocolConfiguration.serverProtocol.rawValue,
            hasJWTAuthorizer: parsed.configuration.requiresJWTBearer,
            tags: parsed.tags
        )
        try authorize(principal, .createAgentRuntime, .agent(proposed), request, context)
        let result = try await idempotency.run(operation: "CreateAgentRuntime", clientToken: parsed.clientToken, request: .object(fields.members)) {
            let (runtime, version) = try await registry.create(
                name: parsed.name!,
                configuration: parsed.configuration,
                tags: parsed.tags,
                owner: .api
            )
            audit("CreateAgentRuntime", principal, runtime.id, after: AuditSummary.version(version))
            return (202, AgentRuntimeShapes.mutation(runtime, version, names: names))
        }
        return Self.json(result.body, status: result.status)
    }

    @Sendable func getRuntime(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try await authenticate(request).principal
        let runtimeId = try parameter("runtime", context)
        try await authorize(principal, .getAgentRuntime, runtimeId: runtimeId, request, context)
        let runtime = try await registry.runtime(id: runtimeId)
        let version = try await registry.version(of: runtime, try Self.versionNumber(request.uri.queryParameters["version"].map(String.init)))
        return Self.json(AgentRuntimeShapes.detail(runtime, version, names: names))
    }

    @Sendable func updateRuntime(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (principal, bodyBytes) = try await authenticate(request)
        let runtimeId = try parameter("runtime", context)
        try await authorize(principal, .updateAgentRuntime, runtimeId: runtimeId, request, context)
        let fields = try Self.fields(bodyBytes)
        let parsed = try AgentRuntimeRequest(fields, isCreate: false)
        let result = try await idempotency.run(
            operation: "UpdateAgentRuntime:\(runtimeId)",
            clientToken: parsed.clientToken,
            request: .object(fields.members)
        ) {
            let before = try? await registry.version(of: try await registry.runtime(id: runtimeId), nil)
            let (runtime, version) = try await registry.update(runtimeId: runtimeId, configuration: parsed.configuration, as: .api)
            audit("UpdateAgentRuntime", principal, runtime.id, before: before.map(AuditSummary.version), after: AuditSummary.version(version))
            return (202, AgentRuntimeShapes.mutation(runtime, version, names: names))
        }
        return Self.json(result.body, status: result.status)
    }

    @Sendable func deleteRuntime(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try await authenticate(request).principal
        let runtimeId = try parameter("runtime", context)
        try await authorize(principal, .deleteAgentRuntime, runtimeId: runtimeId, request, context)
        let token = try Self.queryClientToken(request)
        let result = try await idempotency.run(operation: "DeleteAgentRuntime:\(runtimeId)", clientToken: token, request: .null) {
            let before = try? await registry.version(of: try await registry.runtime(id: runtimeId), nil)
            let runtime = try await registry.delete(runtimeId: runtimeId, as: .api)
            audit("DeleteAgentRuntime", principal, runtime.id, before: before.map(AuditSummary.version))
            return (202, .object(["status": .string(runtime.status.rawValue), "agentRuntimeId": .string(runtime.id)]))
        }
        return Self.json(result.body, status: result.status)
    }

    @Sendable func listRuntimes(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try await authenticate(request).principal
        try authorize(principal, .listAgentRuntimes, .gateway, request, context)
        let query = request.uri.queryParameters
        let limit = try PageToken.pageSize(query["maxResults"].map(String.init))
        let after = try PageToken.decode(query["nextToken"].map(String.init))
        let page = try await registry.list(after: after, limit: limit + 1)
        return Self.json(
            PageToken.page(page, limit: limit, member: "agentRuntimes", position: { $0.0.id }) {
                AgentRuntimeShapes.summary($0.0, $0.1, names: names)
            }
        )
    }

    @Sendable func listVersions(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try await authenticate(request).principal
        let runtimeId = try parameter("runtime", context)
        try await authorize(principal, .listAgentRuntimeVersions, runtimeId: runtimeId, request, context)
        let runtime = try await registry.runtime(id: runtimeId)
        let query = request.uri.queryParameters
        let limit = try PageToken.pageSize(query["maxResults"].map(String.init))
        let before = try PageToken.decode(query["nextToken"].map(String.init)).map { position throws(AgentCoreError) -> Int in
            guard let number = Int(position) else { throw AgentCoreError.invalidField("nextToken", "The pagination token is not valid") }
            return number
        }
        let page = try await registry.versions(of: runtime, before: before, limit: limit + 1)
        return Self.json(
            PageToken.page(page, limit: limit, member: "agentRuntimes", position: { String($0.version) }) {
                AgentRuntimeShapes.summary(runtime, $0, names: names)
            }
        )
    }

    // MARK: - Endpoints

    @Sendable func createEndpoint(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (principal, bodyBytes) = try await authenticate(request)
        let runtimeId = try parameter("runtime", context)
        try await authorize(principal, .createAgentRuntimeEndpoint, runtimeId: runtimeId, request, context)
        let fields = try Self.fields(bodyBytes)
        let name = try fields.string("name", required: true)!
        guard AgentRuntimeIdentifier.isValidName(name[...]) else {
            throw AgentCoreError.invalidField("name", "Member must satisfy regular expression pattern: [a-zA-Z][a-zA-Z0-9_]{0,47}")
        }
        let version = try Self.versionNumber(try fields.string("agentRuntimeVersion"))
        let description = try fields.string("description", length: 1...256)
        let token = try AgentRuntimeRequest.clientToken(fields)
        _ = try AgentRuntimeRequest.tags(fields)
        let result = try await idempotency.run(
            operation: "CreateAgentRuntimeEndpoint:\(runtimeId)",
            clientToken: token,
            request: .object(fields.members)
        ) {
            let endpoint = try await registry.createEndpoint(runtimeId: runtimeId, name: name, version: version, description: description)
            audit("CreateAgentRuntimeEndpoint", principal, "\(runtimeId)/\(name)", after: AuditSummary.endpoint(endpoint))
            return (
                202,
                .object([
                    "targetVersion": .string(String(endpoint.targetVersion)),
                    "agentRuntimeEndpointArn": .string(names.runtimeEndpointARN(runtimeId: runtimeId, endpointName: name)),
                    "agentRuntimeArn": .string(names.runtimeARN(runtimeId: runtimeId)),
                    "agentRuntimeId": .string(runtimeId),
                    "endpointName": .string(name),
                    "status": .string(endpoint.status.rawValue),
                    "createdAt": AgentRuntimeShapes.timestamp(endpoint.createdAt),
                ])
            )
        }
        return Self.json(result.body, status: result.status)
    }

    @Sendable func getEndpoint(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try await authenticate(request).principal
        let runtimeId = try parameter("runtime", context)
        try await authorize(principal, .getAgentRuntimeEndpoint, runtimeId: runtimeId, request, context)
        let endpoint = try await registry.endpoint(runtimeId: runtimeId, name: try endpointName(context))
        return Self.json(AgentRuntimeShapes.endpoint(endpoint, names: names))
    }

    @Sendable func updateEndpoint(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (principal, bodyBytes) = try await authenticate(request)
        let runtimeId = try parameter("runtime", context)
        try await authorize(principal, .updateAgentRuntimeEndpoint, runtimeId: runtimeId, request, context)
        let name = try endpointName(context)
        let fields = try Self.fields(bodyBytes)
        let version = try Self.versionNumber(try fields.string("agentRuntimeVersion"))
        let description = try fields.string("description", length: 1...256)
        let token = try AgentRuntimeRequest.clientToken(fields)
        let result = try await idempotency.run(
            operation: "UpdateAgentRuntimeEndpoint:\(runtimeId)/\(name)",
            clientToken: token,
            request: .object(fields.members)
        ) {
            let before = try? await registry.endpoint(runtimeId: runtimeId, name: name)
            let endpoint = try await registry.updateEndpoint(runtimeId: runtimeId, name: name, version: version, description: description)
            audit("UpdateAgentRuntimeEndpoint", principal, "\(runtimeId)/\(name)", before: before.map(AuditSummary.endpoint), after: AuditSummary.endpoint(endpoint))
            return (202, AgentRuntimeShapes.endpoint(endpoint, names: names))
        }
        return Self.json(result.body, status: result.status)
    }

    @Sendable func deleteEndpoint(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try await authenticate(request).principal
        let runtimeId = try parameter("runtime", context)
        try await authorize(principal, .deleteAgentRuntimeEndpoint, runtimeId: runtimeId, request, context)
        let name = try endpointName(context)
        let token = try Self.queryClientToken(request)
        let result = try await idempotency.run(operation: "DeleteAgentRuntimeEndpoint:\(runtimeId)/\(name)", clientToken: token, request: .null) {
            let endpoint = try await registry.deleteEndpoint(runtimeId: runtimeId, name: name)
            audit("DeleteAgentRuntimeEndpoint", principal, "\(runtimeId)/\(name)", before: AuditSummary.endpoint(endpoint))
            return (
                202,
                .object([
                    "status": .string(endpoint.status.rawValue), "agentRuntimeId": .string(runtimeId), "endpointName": .string(name),
                ])
            )
        }
        return Self.json(result.body, status: result.status)
    }

    @Sendable func listEndpoints(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try await authenticate(request).principal
        let runtimeId = try parameter("runtime", context)
        try await authorize(principal, .listAgentRuntimeEndpoints, runtimeId: runtimeId, request, context)
        let query = request.uri.queryParameters
        let limit = try PageToken.pageSize(query["maxResults"].map(String.init))
        let after = try PageToken.decode(query["nextToken"].map(String.init))
        let page = try await registry.endpoints(runtimeId: runtimeId, after: after, limit: limit + 1)
        return Self.json(
            PageToken.page(page, limit: limit, member: "runtimeEndpoints", position: \.name) {
                AgentRuntimeShapes.endpoint($0, names: names)
            }
        )
    }

    // MARK: - Helpers

    private var gate: AdministratorGate {
        AdministratorGate(
            authenticators: authenticators, access: access, registry: registry, names: names, maxBodyBytes: maxBodyBytes, audit: audit, logger: logger
        )
    }

    private func authenticate(_ request: Request) async throws -> (principal: Principal, body: ByteBuffer) {
        try await gate.authenticate(request)
    }

    private func authorize(
        _ principal: Principal, _ action: GatewayAction, _ resource: PolicyResource, _ request: Request, _ context: GatewayRequestContext
    ) throws(AgentCoreError) {
        try gate.authorize(principal, action, resource, request, context)
    }

    private func authorize(
        _ principal: Principal, _ action: GatewayAction, runtimeId: String, _ request: Request, _ context: GatewayRequestContext
    ) async throws(AgentCoreError) {
        try await gate.authorize(principal, action, runtimeId: runtimeId, request, context)
    }

    private static func fields(_ body: ByteBuffer) throws -> RequestFields {
        try RequestFields(body: Data(body.readableBytesView))
    }

    private func parameter(_ name: String, _ context: GatewayRequestContext) throws(AgentCoreError) -> String {
        guard let raw = context.parameters.get(name, as: Substring.self), let value = PercentEncoding.decode(raw) else {
            throw AgentCoreError.invalidField(name, "Member is not valid")
        }
        return value
    }

    private func endpointName(_ context: GatewayRequestContext) throws(AgentCoreError) -> String {
        let name = try parameter("endpoint", context)
        guard AgentRuntimeIdentifier.isValidName(name[...]) else {
            throw AgentCoreError.invalidField("endpointName", "Member must satisfy regular expression pattern: [a-zA-Z][a-zA-Z0-9_]{0,47}")
        }
        return name
    }

    /// Logs and audits a change; `resource` is the runtime id, or `runtime id/endpoint name`; `before` and `after`
    /// are ``AuditSummary`` values (nothing secret).
    private func audit(_ operation: String, _ principal: Principal, _ resource: String, before: JSONValue? = nil, after: JSONValue? = nil) {
        let parts = resource.split(separator: "/", maxSplits: 1)
        gate.recordChange(
            operation, by: principal, resource: resource, agentRuntimeId: parts.first.map(String.init),
            details: parts.count == 2 ? ["endpoint": .string(String(parts[1]))] : [:], before: before, after: after
        )
    }

    private static func versionNumber(_ text: String?) throws(AgentCoreError) -> Int? {
        guard let text else { return nil }
        guard let number = Int(text), (1...99_999).contains(number), text.first != "0" else {
            throw AgentCoreError.invalidField("agentRuntimeVersion", "Member must satisfy regular expression pattern: ([1-9][0-9]{0,4})")
        }
        return number
    }

    private static func queryClientToken(_ request: Request) throws(AgentCoreError) -> String? {
        guard let token = request.uri.queryParameters["clientToken"].map(String.init) else { return nil }
        guard ClientToken.isValid(token) else {
            throw AgentCoreError.invalidField("clientToken", "Member must be 33-256 characters matching [a-zA-Z0-9](-*[a-zA-Z0-9]){0,256}")
        }
        return token
    }

    static func json(_ value: JSONValue, status: Int = 200) -> Response {
        json(Data(value.serialized()), status: status)
    }

    static func json(_ body: Data, status: Int) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: HTTPResponse.Status(code: status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}
