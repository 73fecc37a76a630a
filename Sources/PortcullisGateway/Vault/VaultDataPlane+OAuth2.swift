import Foundation
import PortcullisCore
import PortcullisPolicy
import PortcullisVault

extension VaultDataPlane {
    /// Authorization parameters an agent's `customParameters` may not set: the flow's own.
    static let reservedParameters: Set<String> = [
        "response_type", "client_id", "redirect_uri", "scope", "user_scope", "state", "code_challenge", "code_challenge_method", "nonce",
        "resource", "audience", "client_secret", "code", "grant_type", "request_uri",
    ]

    /// GetResourceOauth2Token: a token for the workload's user (USER_FEDERATION) or its client (M2M); when a user
    /// has not consented (or must again), an authorization URL and a session to poll with.
    func resourceOAuth2Token(_ fields: RequestFields, origin: Origin, caller: AccessPolicy.Caller) async throws(AgentCoreError) -> JSONValue {
        let token = try fields.string("workloadIdentityToken", required: true, length: 1...131_072)!
        let providerName = try Self.providerName(fields)
        let scopes = try Self.scopes(fields)
        let flow = try fields.string("oauth2Flow", required: true)!
        guard ["USER_FEDERATION", "M2M", "ON_BEHALF_OF_TOKEN_EXCHANGE"].contains(flow) else {
            throw AgentCoreError.invalidField("oauth2Flow", "Member must satisfy enum value set: [USER_FEDERATION, M2M, ON_BEHALF_OF_TOKEN_EXCHANGE]")
        }
        let resources = try Self.list(fields, "resources")
        let audiences = try Self.list(fields, "audiences")
        let workload = try await workload(presenting: token, origin: origin)
        let flowName = flow == "M2M" ? "m2m" : "user_federation"
        do throws(AgentCoreError) {
            let record = try await authorizedProvider(.oauth2, providerName, workload: workload, action: .getResourceOauth2Token, scopes: scopes, caller: caller)
            let client = try await providers.oauth2Client(record)
            let answer: JSONValue
            switch flow {
            case "M2M":
                guard case .token(let accessToken, _) = try await oauth2.machineToken(client, scopes: scopes, resources: resources, audiences: audiences) else {
                    throw AgentCoreError(.internalServer, "No client-credentials token was issued")
                }
                answer = .object(["accessToken": .string(accessToken)])
            case "USER_FEDERATION":
                answer = try await userFederation(fields, workload: workload, client: client, scopes: scopes, resources: resources, audiences: audiences)
            default:
                throw AgentCoreError.invalidField("oauth2Flow", "ON_BEHALF_OF_TOKEN_EXCHANGE is not supported by this gateway")
            }
            let outcome = answer.objectValue?["accessToken"] != nil ? "success" : "consent_required"
            recordAccess(workload, provider: providerName, flow: flowName, outcome: outcome, caller: caller)
            return answer
        } catch {
            recordAccess(workload, provider: providerName, flow: flowName, outcome: error.code == .accessDenied ? "denied" : "failure", caller: caller, error: error)
            throw error
        }
    }

    private func userFederation(
        _ fields: RequestFields, workload: PresentedWorkload, client: OAuth2Tokens.Client, scopes: [String], resources: [String], audiences: [String]
    ) async throws(AgentCoreError) -> JSONValue {
        guard let user = workload.claims.user else {
            throw AgentCoreError.invalidField(
                "workloadIdentityToken",
                "USER_FEDERATION needs a workload access token bound to a user: invoke with the user's token, or name the user with X-Amzn-Bedrock-AgentCore-Runtime-User-Id"
            )
        }
        if let sessionURI = try fields.string("sessionUri", length: 1...1024) {
            // The SDK's poll: the same request with the session it was given.
            guard let session = try await consent.session(uri: sessionURI) else {
                throw AgentCoreError.invalidField("sessionUri", "No such authorization session (it may have expired)")
            }
            guard session.workload == workload.claims.workload, session.userKey == user.key, session.providerId == client.providerId,
                Set(session.request.scopes) == Set(scopes)
            else {
                throw AgentCoreError(.accessDenied, "The authorization session belongs to another request")
            }
            switch session.status {
            case .completed:
                if case .token(let accessToken, _) = try await oauth2.userToken(client, workload: workload.claims.workload, user: user, scopes: scopes) {
                    return .object(["accessToken": .string(accessToken)])
                }
            case .failed:
                throw AgentCoreError(.accessDenied, "The user did not complete the authorization (\(session.error ?? "failed"))")
            case .created, .redirected, .exchanging, .awaitingBinding:
                guard session.expiresAt > clock.now() else {
                    if session.status == .exchanging {
                        throw AgentCoreError(.accessDenied, "The authorization was interrupted while its code was exchanged; ask for the token again")
                    }
                    throw AgentCoreError(.accessDenied, "The authorization session expired before the user completed it")
                }
                return .object(["sessionUri": .string(session.sessionURI), "sessionStatus": .string("IN_PROGRESS")])
            }
        } else if try fields.boolean("forceAuthentication") != true {
            if case .token(let accessToken, _) = try await oauth2.userToken(client, workload: workload.claims.workload, user: user, scopes: scopes) {
                return .object(["accessToken": .string(accessToken)])
            }
        }
        let returnURL = try fields.string("resourceOauth2ReturnUrl", length: 1...2048)
        if let returnURL {
            guard workload.allowedReturnURLs.contains(returnURL) else {
                throw AgentCoreError.invalidField(
                    "resourceOauth2ReturnUrl", "The return URL is not one of the workload identity's allowedResourceOauth2ReturnUrls (compared exactly)"
                )
            }
        } else if case .id = user {
            throw AgentCoreError.invalidField(
                "resourceOauth2ReturnUrl",
                "A user named by id is confirmed by your application: give a return URL where it calls CompleteResourceTokenAuth"
            )
        }
        let customParameters = try Self.customParameters(fields, profile: client.profile)
        let customState = try fields.string("customState", length: 1...4096)
        let session = try await consent.start(
            providerId: client.providerId, workload: workload.claims.workload, user: user,
            request: ConsentSession.Request(
                scopes: scopes, returnURL: returnURL, customState: customState, customParameters: customParameters, resources: resources, audiences: audiences
            )
        )
        guard let base = advertisedURL.base else { throw AgentCoreError(.internalServer, "The gateway does not know its own URL yet") }
        return .object([
            "authorizationUrl": .string(base + "/identities/oauth2/authorize?request_uri=" + PercentEncoding.encodeSegment(session.sessionURI)),
            "sessionUri": .string(session.sessionURI),
            "sessionStatus": .string("IN_PROGRESS"),
        ])
    }

    /// `scopes`: required (possibly empty), each 1–128 characters without whitespace, commas or control characters,
    /// so no scope can smuggle another past a vendor's separator.
    static func scopes(_ fields: RequestFields) throws(AgentCoreError) -> [String] {
        let scopes = try fields.stringList("scopes", required: true)!
        guard scopes.count <= 100 else { throw AgentCoreError.invalidField("scopes", "Member must have at most 100 entries") }
        for scope in scopes where !(1...128).contains(scope.utf8.count) || scope.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F || $0 == UInt8(ascii: ",") }) {
            throw AgentCoreError.invalidField("scopes", "Each scope must be 1-128 characters without spaces, commas or control characters")
        }
        return Array(Set(scopes)).sorted()
    }

    static func list(_ fields: RequestFields, _ member: String) throws(AgentCoreError) -> [String] {
        let values = try fields.stringList(member) ?? []
        guard values.count <= 20, values.allSatisfy({ (1...2048).contains($0.utf8.count) && ForwardedHeaders.isSafe($0) }) else {
            throw AgentCoreError.invalidField(member, "Member must have at most 20 entries of 1-2048 characters")
        }
        return values
    }

    static func customParameters(_ fields: RequestFields, profile: OAuth2VendorProfile) throws(AgentCoreError) -> [String: String] {
        let parameters = try fields.stringMap("customParameters") ?? [:]
        guard parameters.count <= 20 else { throw AgentCoreError.invalidField("customParameters", "Member must have at most 20 entries") }
        for (name, value) in parameters {
            guard (1...256).contains(name.utf8.count),
                name.utf8.allSatisfy({ AgentRuntimeIdentifier.isLetter($0) || AgentRuntimeIdentifier.isDigit($0) || [UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: ".")].contains($0) }),
                (1...2048).contains(value.utf8.count), ForwardedHeaders.isSafe(value)
            else {
                throw AgentCoreError.invalidField("customParameters", "Keys must be 1-256 characters of [a-zA-Z0-9-_.], values 1-2048 characters")
            }
            let lowered = name.lowercased()
            guard !reservedParameters.contains(lowered), profile.extraAuthorizationParameters[lowered] == nil, lowered != profile.scopeParameter else {
                throw AgentCoreError.invalidField("customParameters", "\(name) is a parameter of the flow itself and cannot be overridden")
            }
        }
        return parameters
    }
}
