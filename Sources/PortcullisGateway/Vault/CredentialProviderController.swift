import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PortcullisCore
import PortcullisPolicy
import PortcullisVault

/// API-key credential providers on the AgentCore identity paths (control plane: actions of the `Administer` group
/// on `CredentialProvider::"<name>"`), GetTokenVault, and the data-plane read GetResourceApiKey for callers that
/// reach the gateway's listener. Secrets go in and never come out, except to an authorized workload.
struct CredentialProviderController: Sendable {
    let gate: AdministratorGate
    let providers: CredentialProviders
    let vault: VaultDataPlane
    let names: ResourceNames

    func register(on router: Router<GatewayRequestContext>, controlPlane: Bool) {
        if controlPlane {
            router.post("/identities/CreateApiKeyCredentialProvider", use: createAPIKey)
            router.post("/identities/GetApiKeyCredentialProvider", use: getAPIKey)
            router.post("/identities/UpdateApiKeyCredentialProvider", use: updateAPIKey)
            router.post("/identities/DeleteApiKeyCredentialProvider", use: deleteAPIKey)
            router.post("/identities/ListApiKeyCredentialProviders", use: listAPIKeys)
            router.post("/identities/get-token-vault", use: tokenVault)
        }
        router.post("/identities/api-key", use: resourceAPIKey)
        router.post("/identities/oauth2/token", use: resourceOAuth2Token)
    }

    @Sendable func createAPIKey(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (principal, fields) = try await gate.authenticateFields(request)
        let name = try Self.name(fields)
        let apiKey = try Self.apiKey(fields)
        let tags = try AgentRuntimeRequest.tags(fields)
        try gate.authorize(principal, .createCredentialProvider, .credentialProvider(CredentialProviderFacts(name: name, kind: "api_key", tags: tags)), request, context)
        let record = try await providers.create(name: name, kind: .apiKey, secret: apiKey, tags: tags)
        gate.recordChange("CreateApiKeyCredentialProvider", by: principal, resource: name, after: AuditSummary.provider(record, secretReplaced: true))
        return ControlPlaneController.json(
            .object([
                "apiKeySecretArn": .object(["secretArn": .string(names.credentialSecretARN(record))]),
                "name": .string(name),
                "credentialProviderArn": .string(names.credentialProviderARN(kind: .apiKey, name: name)),
            ]),
            status: 201
        )
    }

    @Sendable func getAPIKey(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (principal, fields) = try await gate.authenticateFields(request)
        let record = try await authorized(try Self.name(fields), principal, .getCredentialProvider, request, context)
        return ControlPlaneController.json(detail(record))
    }

    @Sendable func updateAPIKey(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (principal, fields) = try await gate.authenticateFields(request)
        let name = try Self.name(fields)
        let apiKey = try Self.apiKey(fields)
        _ = try await authorized(name, principal, .updateCredentialProvider, request, context)
        let (before, after) = try await providers.update(name: name, kind: .apiKey, secret: apiKey)
        gate.recordChange(
            "UpdateApiKeyCredentialProvider", by: principal, resource: name, before: AuditSummary.provider(before),
            after: AuditSummary.provider(after, secretReplaced: true)
        )
        return ControlPlaneController.json(detail(after))
    }

    @Sendable func deleteAPIKey(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (principal, fields) = try await gate.authenticateFields(request)
        let name = try Self.name(fields)
        _ = try await authorized(name, principal, .deleteCredentialProvider, request, context)
        let removed = try await providers.delete(kind: .apiKey, name: name)
        gate.recordChange("DeleteApiKeyCredentialProvider", by: principal, resource: name, before: AuditSummary.provider(removed))
        return Response(status: .noContent)
    }

    @Sendable func listAPIKeys(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (principal, fields) = try await gate.authenticateFields(request)
        try gate.authorize(principal, .listCredentialProviders, .gateway, request, context)
        return ControlPlaneController.json(try await Self.list(providers, .apiKey, fields, maximum: 100, names: names))
    }

    /// GetTokenVault: the one vault, `default`, sealed by the gateway's own key ring.
    @Sendable func tokenVault(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (principal, fields) = try await gate.authenticateFields(request)
        if let id = try fields.string("tokenVaultId", length: 1...64), id != "default" {
            throw AgentCoreError.notFound("No token vault \(id); this gateway has one, default")
        }
        try gate.authorize(principal, .listCredentialProviders, .gateway, request, context)
        return ControlPlaneController.json(
            .object([
                "tokenVaultId": .string("default"),
                "kmsConfiguration": .object(["keyType": .string("ServiceManagedKey")]),
                "lastModifiedDate": .number(0),
            ])
        )
    }

    /// GetResourceApiKey through the gateway's listener: the caller authenticates, the workload's token decides.
    @Sendable func resourceAPIKey(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (principal, fields) = try await gate.authenticateFields(request)
        let caller = AccessPolicy.Caller(requestId: context.requestId, sourceAddress: context.channel.remoteAddress?.ipAddress, headers: request.headers)
        return ControlPlaneController.json(try await vault.resourceAPIKey(fields, origin: .gateway(callerId: principal.id), caller: caller))
    }

    /// GetResourceOauth2Token through the gateway's listener.
    @Sendable func resourceOAuth2Token(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (principal, fields) = try await gate.authenticateFields(request)
        let caller = AccessPolicy.Caller(requestId: context.requestId, sourceAddress: context.channel.remoteAddress?.ipAddress, headers: request.headers)
        return ControlPlaneController.json(try await vault.resourceOAuth2Token(fields, origin: .gateway(callerId: principal.id), caller: caller))
    }

    // MARK: - Helpers

    private func authorized(
        _ name: String, _ principal: Principal, _ action: GatewayAction, _ request: Request, _ context: GatewayRequestContext
    ) async throws -> CredentialProviderRecord {
        try await Self.authorized(providers, .apiKey, name, principal, action, gate: gate, request, context)
    }

    /// Authorizes `action` on the provider `name`, then returns it.
    static func authorized(
        _ providers: CredentialProviders, _ kind: CredentialProviderRecord.Kind, _ name: String, _ principal: Principal, _ action: GatewayAction,
        gate: AdministratorGate, _ request: Request, _ context: GatewayRequestContext
    ) async throws -> CredentialProviderRecord {
        let (resource, record) = try await providers.decisionSubject(kind, name)
        try gate.authorize(principal, action, resource, request, context)
        guard let record else { throw CredentialProviders.notFound(kind, name) }
        return record
    }

    /// A List…CredentialProviders answer: a page of summaries (the vendor too, for OAuth2 providers).
    static func list(
        _ providers: CredentialProviders, _ kind: CredentialProviderRecord.Kind, _ fields: RequestFields, maximum: Int, names: ResourceNames
    ) async throws -> JSONValue {
        let (limit, after) = try WorkloadIdentityController.page(fields, maximum: maximum)
        let page = try await providers.list(kind: kind, after: after, limit: limit + 1)
        return PageToken.page(page, limit: limit, member: "credentialProviders", position: \.name) { record in
            var summary: [String: JSONValue] = [
                "name": .string(record.name),
                "credentialProviderArn": .string(names.credentialProviderARN(kind: kind, name: record.name)),
                "createdTime": epoch(record.createdAt),
                "lastUpdatedTime": epoch(record.updatedAt),
            ]
            if let vendor = record.vendor { summary["credentialProviderVendor"] = .string(vendor) }
            return .object(summary)
        }
    }

    private func detail(_ record: CredentialProviderRecord) -> JSONValue {
        .object([
            "apiKeySecretArn": .object(["secretArn": .string(names.credentialSecretARN(record))]),
            "name": .string(record.name),
            "credentialProviderArn": .string(names.credentialProviderARN(kind: .apiKey, name: record.name)),
            "createdTime": Self.epoch(record.createdAt),
            "lastUpdatedTime": Self.epoch(record.updatedAt),
        ])
    }

    static func epoch(_ date: Date) -> JSONValue { .number(date.timeIntervalSince1970.rounded(.down)) }

    static func name(_ fields: RequestFields) throws(AgentCoreError) -> String {
        let name = try fields.string("name", required: true)!
        guard CredentialProviderRecord.isValidName(name) else {
            throw AgentCoreError.invalidField("name", "Member must satisfy regular expression pattern: [a-zA-Z0-9\\-_]+ (1-128 characters)")
        }
        return name
    }

    static func apiKey(_ fields: RequestFields) throws(AgentCoreError) -> String {
        // Never echo the value: the message names the field and the rule only.
        try fields.string("apiKey", required: true, length: 1...CredentialProviders.maxAPIKeyLength)!
    }
}
