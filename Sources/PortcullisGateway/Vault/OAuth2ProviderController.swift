import Foundation
import HTTPTypes
import Hummingbird
import PortcullisCore
import PortcullisPolicy
import PortcullisVault

/// OAuth2 credential providers on the AgentCore identity paths (actions `CreateCredentialProvider`, … of the
/// `Administer` group on `CredentialProvider::"<name>"`): the vendor's endpoints are resolved when the provider is
/// created or updated; the client secret goes in and never comes out; the `callbackUrl` to register with the
/// vendor comes back.
struct OAuth2ProviderController: Sendable {
    let gate: AdministratorGate
    let providers: CredentialProviders
    let registrar: OAuth2Registrar
    let advertisedURL: AdvertisedGatewayURL
    /// The deleted provider's grants were queued for revocation at the vendor.
    let revocations: VendorRevocations
    let names: ResourceNames

    func register(on router: Router<GatewayRequestContext>) {
        router.post("/identities/CreateOauth2CredentialProvider", use: create)
        router.post("/identities/GetOauth2CredentialProvider", use: get)
        router.post("/identities/UpdateOauth2CredentialProvider", use: update)
        router.post("/identities/DeleteOauth2CredentialProvider", use: delete)
        router.post("/identities/ListOauth2CredentialProviders", use: list)
    }

    /// The callback path of a provider: one per provider, so a `state` that arrives on another's is a mix-up.
    static func callbackPath(providerId: String) -> String { "/identities/oauth2/callback/\(providerId)" }

    func callbackURL(_ record: CredentialProviderRecord) -> String {
        (advertisedURL.base ?? "") + Self.callbackPath(providerId: record.id)
    }

    @Sendable func create(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (principal, fields) = try await gate.authenticateFields(request)
        let name = try CredentialProviderController.name(fields)
        let parsed = try OAuth2ProviderRequest(fields)
        let tags = try AgentRuntimeRequest.tags(fields)
        try gate.authorize(
            principal, .createCredentialProvider, .credentialProvider(CredentialProviderFacts(name: name, kind: "oauth2", vendor: parsed.vendor, tags: tags)),
            request, context
        )
        let registration = try await registrar.resolve(parsed.input)
        let record = try await providers.create(
            name: name, kind: .oauth2, vendor: parsed.vendor, configuration: CredentialProviders.configuration(of: registration), secret: parsed.clientSecret,
            tags: tags
        )
        gate.recordChange("CreateOauth2CredentialProvider", by: principal, resource: name, after: AuditSummary.provider(record, secretReplaced: true))
        return ControlPlaneController.json(try detail(record), status: 201)
    }

    @Sendable func get(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (principal, fields) = try await gate.authenticateFields(request)
        let record = try await authorized(try CredentialProviderController.name(fields), principal, .getCredentialProvider, request, context)
        return ControlPlaneController.json(try detail(record))
    }

    @Sendable func update(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (principal, fields) = try await gate.authenticateFields(request)
        let name = try CredentialProviderController.name(fields)
        let parsed = try OAuth2ProviderRequest(fields)
        _ = try await authorized(name, principal, .updateCredentialProvider, request, context)
        let registration = try await registrar.resolve(parsed.input)
        let (before, after) = try await providers.update(
            name: name, kind: .oauth2, vendor: parsed.vendor, configuration: CredentialProviders.configuration(of: registration), secret: parsed.clientSecret
        )
        gate.recordChange(
            "UpdateOauth2CredentialProvider", by: principal, resource: name, before: AuditSummary.provider(before),
            after: AuditSummary.provider(after, secretReplaced: true)
        )
        return ControlPlaneController.json(try detail(after))
    }

    @Sendable func delete(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (principal, fields) = try await gate.authenticateFields(request)
        let name = try CredentialProviderController.name(fields)
        _ = try await authorized(name, principal, .deleteCredentialProvider, request, context)
        // Its vaulted tokens and open consent sessions go with it, the tokens queued for the vendor to revoke.
        let removed = try await providers.delete(kind: .oauth2, name: name)
        revocations.runSoon()
        gate.recordChange("DeleteOauth2CredentialProvider", by: principal, resource: name, before: AuditSummary.provider(removed))
        return Response(status: .noContent)
    }

    @Sendable func list(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (principal, fields) = try await gate.authenticateFields(request)
        try gate.authorize(principal, .listCredentialProviders, .gateway, request, context)
        return ControlPlaneController.json(try await CredentialProviderController.list(providers, .oauth2, fields, maximum: 20, names: names))
    }

    // MARK: - Helpers

    private func authorized(
        _ name: String, _ principal: Principal, _ action: GatewayAction, _ request: Request, _ context: GatewayRequestContext
    ) async throws -> CredentialProviderRecord {
        try await CredentialProviderController.authorized(providers, .oauth2, name, principal, action, gate: gate, request, context)
    }

    private func detail(_ record: CredentialProviderRecord) throws(AgentCoreError) -> JSONValue {
        guard let vendor = record.vendor, let registration = CredentialProviders.registration(of: record) else {
            throw AgentCoreError(.internalServer, "The credential provider \(record.name) cannot be read")
        }
        return .object([
            "clientSecretArn": .object(["secretArn": .string(names.credentialSecretARN(record))]),
            "name": .string(record.name),
            "credentialProviderArn": .string(names.credentialProviderARN(kind: .oauth2, name: record.name)),
            "credentialProviderVendor": .string(vendor),
            "callbackUrl": .string(callbackURL(record)),
            "oauth2ProviderConfigOutput": OAuth2ProviderRequest.output(vendor: vendor, registration: registration),
            "createdTime": CredentialProviderController.epoch(record.createdAt),
            "lastUpdatedTime": CredentialProviderController.epoch(record.updatedAt),
            "status": .string("READY"),
        ])
    }
}
