import Foundation
import Crypto
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PortcullisCore
import PortcullisIdentity
import PortcullisPolicy

/// Authentication and Cedar authorization for the administrative APIs (the control plane, sessions and usage):
/// every operation is an action of the `Administer` group, decided by the policies and recorded in the decision log.
struct AdministratorGate: Sendable {
    let authenticators: AuthenticatorChain
    let access: AccessPolicy
    let registry: AgentRuntimeRegistry
    let names: ResourceNames
    let maxBodyBytes: Int
    let audit: AuditLog
    let logger: Logger

    /// Reads the (bounded) body — SigV4 signs its hash — and authenticates the caller.
    func authenticate(_ request: Request) async throws -> (principal: Principal, body: ByteBuffer) {
        let body = try await request.body.collect(upTo: maxBodyBytes)
        let facts = request.credentialFacts(payloadHash: Hex.encode(SHA256.hash(data: body.readableBytesView)))
        let principal: Principal
        do throws(AuthenticationError) {
            principal = try await authenticators.authenticate(try InboundCredential.extract(from: facts))
        } catch {
            logger.info("control-plane authentication failed", metadata: ["reason": "\(error.failure.rawValue)", "detail": "\(error.detail ?? "")"])
            audit.record(AuditEvent(time: Date(), kind: .authenticationFailed, outcome: "failure", details: ["reason": .string(error.failure.rawValue), "surface": .string("admin")]))
            throw error.error
        }
        return (principal, body)
    }

    /// Authenticates the caller and reads the body's JSON members (the identity APIs take every input there).
    func authenticateFields(_ request: Request) async throws -> (principal: Principal, fields: RequestFields) {
        let (principal, body) = try await authenticate(request)
        return (principal, try RequestFields(body: Data(body.readableBytesView)))
    }

    func authorize(
        _ principal: Principal, _ action: GatewayAction, _ resource: PolicyResource, _ request: Request, _ context: GatewayRequestContext
    ) throws(AgentCoreError) {
        let caller = AccessPolicy.Caller(requestId: context.requestId, sourceAddress: context.channel.remoteAddress?.ipAddress, headers: request.headers)
        try access.require(principal, action, on: resource, caller: caller)
    }

    /// Authorizes an operation on the runtime a path names. A runtime that does not exist is still named (from
    /// its id), so a caller learns that it is missing only when allowed to ask.
    func authorize(
        _ principal: Principal, _ action: GatewayAction, runtimeId: String, _ request: Request, _ context: GatewayRequestContext
    ) async throws(AgentCoreError) {
        guard AgentRuntimeIdentifier.isValidRuntimeId(runtimeId[...]), let dash = runtimeId.lastIndex(of: "-") else {
            throw AgentCoreError.invalidField("agentRuntimeId", "Member must satisfy regular expression pattern: [a-zA-Z][a-zA-Z0-9_]{0,99}-[a-zA-Z0-9]{10}")
        }
        let facts = await agentFacts(runtimeId: runtimeId) ?? AgentFacts(name: String(runtimeId[..<dash]))
        try authorize(principal, action, .agent(facts), request, context)
    }

    /// What policies see of an existing runtime: name, id, ARN, latest version, protocol, authorizer and tags.
    func agentFacts(runtimeId: String) async -> AgentFacts? {
        guard let runtime = try? await registry.runtime(id: runtimeId) else { return nil }
        var facts = AgentFacts(
            name: runtime.name, id: runtime.id, arn: names.runtimeARN(runtimeId: runtime.id), version: runtime.latestVersion, tags: runtime.tags
        )
        if let version = try? await registry.version(of: runtime, nil) {
            facts.serverProtocol = version.configuration.protocolConfiguration.serverProtocol.rawValue
            facts.hasJWTAuthorizer = version.configuration.requiresJWTBearer
        }
        return facts
    }

    /// Logs and audits a control-plane change; `before` and `after` are ``AuditSummary`` values (nothing secret).
    func recordChange(
        _ operation: String, by principal: Principal, resource: String, agentRuntimeId: String? = nil, details extra: [String: JSONValue] = [:],
        before: JSONValue? = nil, after: JSONValue? = nil
    ) {
        logger.notice("control-plane change", metadata: ["operation": "\(operation)", "principal": "\(principal.id)", "resource": "\(resource)"])
        var details = extra
        details["resource"] = .string(resource)
        if let before { details["before"] = before }
        if let after { details["after"] = after }
        audit.record(
            AuditEvent(
                time: Date(), kind: .controlPlaneChange, principal: principal.id, agentRuntimeId: agentRuntimeId, action: operation, outcome: "success",
                details: details
            )
        )
    }
}
