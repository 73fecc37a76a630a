import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PortcullisCore
import PortcullisIdentity
import PortcullisPolicy
import PortcullisStore
import PortcullisVault

/// Workload identities on the AgentCore identity paths: the control plane (Create/Get/Update/Delete/List, actions of
/// the `Administer` group on `Workload::"<name>"`) and minting their access tokens (GetWorkloadAccessToken,
/// …ForJWT, …ForUserId, the `GetWorkloadTokens` group). A runtime's own identity is created and removed with the
/// runtime; only its return URLs can be changed, and it mints no user-less tokens for outside callers.
struct WorkloadIdentityController: Sendable {
    let gate: AdministratorGate
    let store: any WorkloadIdentityStore
    let runtimes: any AgentRegistryStore
    let resolver: RuntimeResolver
    let tokens: WorkloadAccessTokens
    let jwtAuthenticator: JWTAuthenticator
    /// The vault's cache of identities, evicted on every change made here.
    let vaultLookups: CredentialRecordCache<VaultDataPlane.WorkloadLookup>
    /// The deleted identity's grants were queued for revocation at their vendors.
    let revocations: VendorRevocations
    let names: ResourceNames
    let clock: any WallClock
    let logger: Logger

    func register(on router: Router<GatewayRequestContext>, controlPlane: Bool) {
        if controlPlane {
            router.post("/identities/CreateWorkloadIdentity", use: create)
            router.post("/identities/GetWorkloadIdentity", use: get)
            router.post("/identities/UpdateWorkloadIdentity", use: update)
            router.post("/identities/DeleteWorkloadIdentity", use: delete)
            router.post("/identities/ListWorkloadIdentities", use: list)
        }
        router.post("/identities/GetWorkloadAccessToken", use: accessToken)
        router.post("/identities/GetWorkloadAccessTokenForJWT", use: accessTokenForJWT)
        router.post("/identities/GetWorkloadAccessTokenForUserId", use: accessTokenForUserId)
    }

    // MARK: - Control plane

    @Sendable func create(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (principal, fields) = try await gate.authenticateFields(request)
        let name = try Self.name(fields, member: "name")
        let urls = try Self.returnURLs(fields) ?? []
        let tags = try AgentRuntimeRequest.tags(fields)
        try gate.authorize(principal, .createWorkloadIdentity, .workload(WorkloadFacts(name: name)), request, context)
        let now = clock.now()
        let identity = WorkloadIdentity(name: name, allowedReturnURLs: urls, tags: tags, createdAt: now, updatedAt: now)
        do {
            try await store.insertWorkloadIdentity(identity)
        } catch StoreError.conflict {
            throw AgentCoreError(.conflict, "A workload identity named \(name) already exists")
        }
        gate.recordChange("CreateWorkloadIdentity", by: principal, resource: name, after: AuditSummary.workloadIdentity(identity))
        return ControlPlaneController.json(
            .object([
                "name": .string(name), "workloadIdentityArn": .string(names.workloadIdentityARN(name: name)),
                "allowedResourceOauth2ReturnUrls": .array(urls.map { .string($0) }),
            ]),
            status: 201
        )
    }

    @Sendable func get(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (principal, fields) = try await gate.authenticateFields(request)
        let identity = try await authorizedIdentity(try Self.name(fields, member: "name"), principal, .getWorkloadIdentity, request, context)
        return ControlPlaneController.json(detail(identity))
    }

    @Sendable func update(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (principal, fields) = try await gate.authenticateFields(request)
        let name = try Self.name(fields, member: "name")
        let urls = try Self.returnURLs(fields) ?? []
        let before = try await authorizedIdentity(name, principal, .updateWorkloadIdentity, request, context)
        guard let updated = try await store.updateWorkloadIdentity(name: name, allowedReturnURLs: urls, at: clock.now()) else {
            throw Self.notFound(name)
        }
        vaultLookups.evict(id: name)
        // Invocations hand the agent its first return URL: they must see the change at once.
        if let runtimeId = updated.runtimeId { resolver.invalidate(runtimeId: runtimeId) }
        gate.recordChange(
            "UpdateWorkloadIdentity", by: principal, resource: name, agentRuntimeId: updated.runtimeId, before: AuditSummary.workloadIdentity(before),
            after: AuditSummary.workloadIdentity(updated)
        )
        return ControlPlaneController.json(detail(updated))
    }

    @Sendable func delete(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (principal, fields) = try await gate.authenticateFields(request)
        let name = try Self.name(fields, member: "name")
        let identity = try await authorizedIdentity(name, principal, .deleteWorkloadIdentity, request, context)
        guard identity.runtimeId == nil else {
            throw AgentCoreError(
                .validation, "The workload identity \(name) belongs to an agent runtime and is deleted with it", reason: .resourceConflict
            )
        }
        guard try await store.deleteWorkloadIdentity(name: name) else { throw Self.notFound(name) }
        vaultLookups.evict(id: name)
        revocations.runSoon()
        gate.recordChange("DeleteWorkloadIdentity", by: principal, resource: name, before: AuditSummary.workloadIdentity(identity))
        return Response(status: .noContent)
    }

    @Sendable func list(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (principal, fields) = try await gate.authenticateFields(request)
        try gate.authorize(principal, .listWorkloadIdentities, .gateway, request, context)
        let (limit, after) = try Self.page(fields, maximum: 20)
        let page = try await store.workloadIdentities(after: after, limit: limit + 1)
        return ControlPlaneController.json(
            PageToken.page(page, limit: limit, member: "workloadIdentities", position: \.name) {
                .object(["name": .string($0.name), "workloadIdentityArn": .string(names.workloadIdentityARN(name: $0.name))])
            }
        )
    }

    // MARK: - Workload access tokens

    @Sendable func accessToken(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (principal, fields) = try await gate.authenticateFields(request)
        let identity = try await authorizedIdentity(try Self.name(fields, member: "workloadName"), principal, .getWorkloadAccessToken, request, context)
        guard identity.runtimeId == nil else {
            throw AgentCoreError(.accessDenied, "An agent runtime's workload identity gets its access tokens from the runtime, with each invocation")
        }
        return mint(identity, user: nil, for: principal, context)
    }

    @Sendable func accessTokenForJWT(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (principal, fields) = try await gate.authenticateFields(request)
        let name = try Self.name(fields, member: "workloadName")
        let userToken = try fields.string("userToken", required: true, length: 1...131_072)!
        let identity = try await authorizedIdentity(name, principal, .getWorkloadAccessTokenForJWT, request, context)
        let user: Principal
        do throws(AuthenticationError) {
            user = try await jwtAuthenticator.authenticate(.bearerToken(userToken))
        } catch {
            logger.info("a user token for a workload access token was refused", metadata: ["reason": "\(error.failure.rawValue)"])
            throw AgentCoreError(.unauthorized, "The user token is not valid")
        }
        guard let issuer = user.issuer, let subject = user.subject else { throw AgentCoreError(.unauthorized, "The user token names no issuer and subject") }
        return mint(identity, user: .token(issuer: issuer, subject: subject), for: principal, context)
    }

    @Sendable func accessTokenForUserId(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (principal, fields) = try await gate.authenticateFields(request)
        let name = try Self.name(fields, member: "workloadName")
        let userId = try fields.string("userId", required: true, length: 1...128)!
        guard ForwardedHeaders.isSafe(userId) else { throw AgentCoreError.invalidField("userId", "Member must not contain control characters") }
        let identity = try await authorizedIdentity(name, principal, .getWorkloadAccessTokenForUserId, request, context)
        return mint(identity, user: .id(userId), for: principal, context)
    }

    private func mint(_ identity: WorkloadIdentity, user: WorkloadUser?, for principal: Principal, _ context: GatewayRequestContext) -> Response {
        logger.info(
            "workload access token issued",
            metadata: ["workload": "\(identity.name)", "principal": "\(principal.id)", "bound_to_user": "\(user != nil)", "request_id": "\(context.requestId)"]
        )
        return ControlPlaneController.json(.object(["workloadAccessToken": .string(tokens.mint(workload: identity.name, user: user, now: clock.now()))]))
    }

    // MARK: - Helpers

    /// Authorizes `action` on the identity `name` (named whether or not it exists), then reads it.
    private func authorizedIdentity(
        _ name: String, _ principal: Principal, _ action: GatewayAction, _ request: Request, _ context: GatewayRequestContext
    ) async throws -> WorkloadIdentity {
        let identity = try await store.workloadIdentity(name: name)
        var agentName: String?
        if let runtimeId = identity?.runtimeId { agentName = try await runtimes.runtime(id: runtimeId)?.name }
        try gate.authorize(principal, action, .workload(WorkloadFacts(name: name, agentName: agentName)), request, context)
        guard let identity else { throw Self.notFound(name) }
        return identity
    }

    private func detail(_ identity: WorkloadIdentity) -> JSONValue {
        .object([
            "name": .string(identity.name),
            "workloadIdentityArn": .string(names.workloadIdentityARN(name: identity.name)),
            "allowedResourceOauth2ReturnUrls": .array(identity.allowedReturnURLs.map { .string($0) }),
            "createdTime": .number(identity.createdAt.timeIntervalSince1970.rounded(.down)),
            "lastUpdatedTime": .number(identity.updatedAt.timeIntervalSince1970.rounded(.down)),
        ])
    }

    static func name(_ fields: RequestFields, member: String) throws(AgentCoreError) -> String {
        let name = try fields.string(member, required: true)!
        guard WorkloadIdentity.isValidName(name) else {
            throw AgentCoreError.invalidField(member, "Member must satisfy regular expression pattern: [A-Za-z0-9_.-]+ (3-255 characters)")
        }
        return name
    }

    static func returnURLs(_ fields: RequestFields) throws(AgentCoreError) -> [String]? {
        guard let urls = try fields.stringList("allowedResourceOauth2ReturnUrls") else { return nil }
        guard urls.count <= WorkloadIdentity.maxReturnURLs else {
            throw AgentCoreError.invalidField("allowedResourceOauth2ReturnUrls", "Member must have at most \(WorkloadIdentity.maxReturnURLs) entries")
        }
        for url in urls {
            if let problem = WorkloadIdentity.returnURLProblem(url) {
                throw AgentCoreError.invalidField("allowedResourceOauth2ReturnUrls", "Each URL \(problem)")
            }
        }
        var seen = Set<String>()
        return urls.filter { seen.insert($0).inserted }
    }

    /// Identity list operations page in the body: `nextToken`, `maxResults` (1…`maximum`, default `maximum`).
    static func page(_ fields: RequestFields, maximum: Int) throws(AgentCoreError) -> (limit: Int, after: String?) {
        let limit = try fields.integer("maxResults") ?? maximum
        guard (1...maximum).contains(limit) else { throw AgentCoreError.invalidField("maxResults", "Member must have value between 1 and \(maximum)") }
        return (limit, try PageToken.decode(try fields.string("nextToken")))
    }

    static func notFound(_ name: String) -> AgentCoreError { AgentCoreError.notFound("No workload identity named \(name)") }
}
