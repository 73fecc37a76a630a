import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PortcullisCore
import PortcullisIdentity

/// The development identity provider's endpoints: discovery, keys, the sign-in page, token, device authorization.
/// OAuth errors answer in OAuth's own shapes (RFC 6749 §4.1.2.1 and §5.2), not the AgentCore envelope.
struct DevelopmentIdentityProviderController: Sendable {
    let provider: DevelopmentIdentityProvider
    let maxFormBytes = 64 * 1024

    func register(on router: Router<GatewayRequestContext>) {
        let base = DevelopmentSettings.path
        router.get("\(base)/.well-known/openid-configuration") { _, _ in self.discovery() }
        router.get("\(base)/jwks.json") { _, _ in Self.json(.object(["keys": .array([self.provider.key.publicJWK])])) }
        router.get("\(base)/authorize") { request, _ in self.authorizePage(QueryParameters(request.uri.query)) }
        router.post("\(base)/authorize") { request, _ in try await self.authorize(try await self.form(request)) }
        router.post("\(base)/token") { request, _ in try await self.token(request) }
        router.post("\(base)/device_authorization") { request, _ in try await self.deviceAuthorization(try await self.form(request)) }
        router.get("\(base)/device") { request, _ in self.devicePage(userCode: QueryParameters(request.uri.query)["user_code"]) }
        router.post("\(base)/device") { request, _ in try await self.approveDevice(try await self.form(request)) }
    }

    private func discovery() -> Response {
        let metadata = provider.metadata
        return Self.json(.object([
            "issuer": .string(metadata.issuer), "jwks_uri": .string(metadata.jwksURI ?? ""),
            "authorization_endpoint": .string(metadata.authorizationEndpoint ?? ""), "token_endpoint": .string(metadata.tokenEndpoint ?? ""),
            "device_authorization_endpoint": .string(metadata.deviceAuthorizationEndpoint ?? ""),
            "response_types_supported": .array([.string("code")]),
            "grant_types_supported": .array(["authorization_code", "refresh_token", "client_credentials", "urn:ietf:params:oauth:grant-type:device_code"].map(JSONValue.string)),
            "code_challenge_methods_supported": .array([.string("S256")]),
            "token_endpoint_auth_methods_supported": .array(["client_secret_basic", "client_secret_post", "none"].map(JSONValue.string)),
            "scopes_supported": .array(DevelopmentIdentityProvider.supportedScopes.sorted().map(JSONValue.string)),
            "subject_types_supported": .array([.string("public")]),
            "id_token_signing_alg_values_supported": .array([.string("RS256")]),
        ]))
    }

    // MARK: - Authorization code

    /// The parameters of an authorization request, checked; a problem before the redirect URI is trusted is
    /// shown as a page, after it as an error redirect.
    private enum AuthorizationCheck {
        case page(Response)
        case redirect(String)
        case valid(clientId: String, redirectURI: String, scopes: [String], state: String?, nonce: String?, challenge: String?)
    }

    private func check(_ parameters: QueryParameters) -> AuthorizationCheck {
        guard parameters.isValid, let clientId = parameters["client_id"], let redirectURI = parameters["redirect_uri"],
            provider.isRegistered(clientId: clientId, redirectURI: redirectURI)
        else {
            return .page(HTMLPage(title: "Sign-in refused", body: "<p>Unknown client or redirect URI.</p>").response(status: .badRequest))
        }
        let state = parameters["state"]
        func error(_ code: String) -> AuthorizationCheck {
            var pairs = [("error", code)]
            if let state { pairs.append(("state", state)) }
            return .redirect(redirectURI + (redirectURI.contains("?") ? "&" : "?") + PercentEncoding.encodeForm(pairs))
        }
        guard parameters["response_type"] == "code" else { return error("unsupported_response_type") }
        let scopes = (parameters["scope"] ?? "openid").split(separator: " ").map(String.init)
        guard !scopes.isEmpty, scopes.allSatisfy(DevelopmentIdentityProvider.supportedScopes.contains) else { return error("invalid_scope") }
        let challenge = parameters["code_challenge"]
        if challenge != nil, parameters["code_challenge_method"] != "S256" { return error("invalid_request") }
        if clientId == DevelopmentSettings.cliClientId, challenge == nil { return error("invalid_request") }
        return .valid(clientId: clientId, redirectURI: redirectURI, scopes: scopes, state: state, nonce: parameters["nonce"], challenge: challenge)
    }

    private func authorizePage(_ parameters: QueryParameters) -> Response {
        switch check(parameters) {
        case .page(let response): return response
        case .redirect(let location): return Self.redirect(location)
        case .valid(let clientId, let redirectURI, let scopes, let state, let nonce, let challenge):
            var carried = [("client_id", clientId), ("redirect_uri", redirectURI), ("response_type", "code"), ("scope", scopes.joined(separator: " "))]
            if let state { carried.append(("state", state)) }
            if let nonce { carried.append(("nonce", nonce)) }
            if let challenge { carried += [("code_challenge", challenge), ("code_challenge_method", "S256")] }
            let buttons = DevelopmentIdentityProvider.users.map { user in
                "<form method=\"post\" action=\"\(HTMLPage.escape(DevelopmentSettings.path))/authorize\">\(HTMLPage.hiddenInputs(carried + [("user", user.id)]))"
                    + "<button type=\"submit\">Sign in as \(HTMLPage.escape(user.name))</button> <small>groups: \(HTMLPage.escape(user.groups.joined(separator: ", ")))</small></form>"
            }.joined()
            return HTMLPage(
                title: "Portcullis development sign-in",
                body: "<p><code>\(HTMLPage.escape(clientId))</code> asks to sign you in. This provider exists only in <code>portcullis dev</code>.</p>\(buttons)"
            ).response()
        }
    }

    private func authorize(_ form: QueryParameters) async throws -> Response {
        switch check(form) {
        case .page(let response): return response
        case .redirect(let location): return Self.redirect(location)
        case .valid(let clientId, let redirectURI, let scopes, let state, let nonce, let challenge):
            guard let user = form["user"].flatMap(DevelopmentIdentityProvider.user) else {
                return HTMLPage(title: "Sign-in refused", body: "<p>Unknown user.</p>").response(status: .badRequest)
            }
            let code = provider.issueCode(
                .init(clientId: clientId, redirectURI: redirectURI, codeChallenge: challenge, nonce: nonce, scopes: scopes, user: user, expiresAt: provider.clock.now().addingTimeInterval(60))
            )
            var pairs = [("code", code)]
            if let state { pairs.append(("state", state)) }
            return Self.redirect(redirectURI + (redirectURI.contains("?") ? "&" : "?") + PercentEncoding.encodeForm(pairs))
        }
    }

    // MARK: - Token endpoint

    private func token(_ request: Request) async throws -> Response {
        let form = try await self.form(request)
        guard let clientId = provider.authenticateClient(basic: Self.basicCredentials(request.headers), formId: form["client_id"], formSecret: form["client_secret"]) else {
            return Self.oauthError("invalid_client", "unknown client or wrong secret", status: .unauthorized)
        }
        switch form["grant_type"] {
        case "authorization_code":
            guard let value = form["code"], let code = provider.redeemCode(value), code.clientId == clientId, code.redirectURI == form["redirect_uri"] else {
                return Self.oauthError("invalid_grant", "the code is unknown, used, expired or for another client or redirect URI")
            }
            if let challenge = code.codeChallenge {
                guard let verifier = form["code_verifier"], PKCE.isWellFormedVerifier(verifier),
                    ConstantTime.equals(Array(PKCE.challenge(for: verifier).utf8), Array(challenge.utf8))
                else {
                    return Self.oauthError("invalid_grant", "the code_verifier does not match the code_challenge")
                }
            }
            return Self.json(try provider.tokenResponse(user: code.user, clientId: clientId, scopes: code.scopes, nonce: code.nonce))
        case "refresh_token":
            guard let value = form["refresh_token"], let grant = provider.redeemRefreshToken(value, clientId: clientId) else {
                return Self.oauthError("invalid_grant", "the refresh token is unknown or was already used")
            }
            return Self.json(try provider.tokenResponse(user: grant.user, clientId: clientId, scopes: grant.scopes, nonce: nil))
        case "client_credentials":
            guard clientId == DevelopmentSettings.webClientId else { return Self.oauthError("unauthorized_client", "only confidential clients") }
            let scopes = (form["scope"] ?? "agents:invoke").split(separator: " ").map(String.init)
            guard scopes.allSatisfy(DevelopmentIdentityProvider.supportedScopes.contains) else { return Self.oauthError("invalid_scope", nil) }
            return Self.json(.object([
                "access_token": .string(try provider.accessToken(for: nil, clientId: clientId, scopes: scopes)), "token_type": .string("Bearer"),
                "expires_in": .number(DevelopmentIdentityProvider.accessTokenLifetime), "scope": .string(scopes.joined(separator: " ")),
            ]))
        case "urn:ietf:params:oauth:grant-type:device_code":
            switch provider.pollDevice(form["device_code"] ?? "", clientId: clientId) {
            case .approved(let grant):
                return Self.json(try provider.tokenResponse(user: grant.user!, clientId: clientId, scopes: grant.scopes, nonce: nil))
            case .pending: return Self.oauthError("authorization_pending", nil)
            case .slowDown: return Self.oauthError("slow_down", nil)
            case .expired: return Self.oauthError("expired_token", nil)
            }
        default:
            return Self.oauthError("unsupported_grant_type", nil)
        }
    }

    // MARK: - Device authorization

    private func deviceAuthorization(_ form: QueryParameters) async throws -> Response {
        guard form["client_id"] == DevelopmentSettings.cliClientId else { return Self.oauthError("invalid_client", nil, status: .unauthorized) }
        let scopes = (form["scope"] ?? "openid").split(separator: " ").map(String.init)
        guard scopes.allSatisfy(DevelopmentIdentityProvider.supportedScopes.contains) else { return Self.oauthError("invalid_scope", nil) }
        let (deviceCode, userCode) = provider.startDevice(clientId: DevelopmentSettings.cliClientId, scopes: scopes)
        let verification = provider.settings.issuer + "/device"
        return Self.json(.object([
            "device_code": .string(deviceCode), "user_code": .string(userCode), "verification_uri": .string(verification),
            "verification_uri_complete": .string(verification + "?user_code=" + userCode), "expires_in": .number(600), "interval": .number(1),
        ]))
    }

    private func devicePage(userCode: String?) -> Response {
        let users = DevelopmentIdentityProvider.users.map { user in
            "<label><input type=\"radio\" name=\"user\" value=\"\(HTMLPage.escape(user.id))\"> \(HTMLPage.escape(user.name))</label><br>"
        }.joined()
        return HTMLPage(
            title: "Approve a device",
            body: "<form method=\"post\" action=\"\(DevelopmentSettings.path)/device\"><p>Code: <input name=\"user_code\" value=\"\(HTMLPage.escape(userCode ?? ""))\"></p>\(users)<button type=\"submit\">Approve</button></form>"
        ).response()
    }

    private func approveDevice(_ form: QueryParameters) async throws -> Response {
        guard let user = form["user"].flatMap(DevelopmentIdentityProvider.user), let code = form["user_code"],
            provider.approveDevice(userCode: code, user: user)
        else {
            return HTMLPage(title: "Not approved", body: "<p>Unknown or expired code, or no user chosen.</p>").response(status: .badRequest)
        }
        return HTMLPage(title: "Device approved", body: "<p>You can return to your terminal.</p>").response()
    }

    // MARK: - Helpers

    private func form(_ request: Request) async throws -> QueryParameters {
        let body = try await request.body.collect(upTo: maxFormBytes)
        return QueryParameters(String(buffer: body))
    }

    static func basicCredentials(_ headers: HTTPFields) -> (String, String)? {
        guard let value = headers[.authorization], value.lowercased().hasPrefix("basic "),
            let data = Data(base64Encoded: String(value.dropFirst(6))), let text = String(data: data, encoding: .utf8),
            let colon = text.firstIndex(of: ":"),
            let id = PercentEncoding.decode(text[..<colon], plusAsSpace: true),
            let secret = PercentEncoding.decode(text[text.index(after: colon)...], plusAsSpace: true)
        else { return nil }
        return (id, secret)
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: value.serialized())))
    }

    static func oauthError(_ code: String, _ description: String?, status: HTTPResponse.Status = .badRequest) -> Response {
        var members: [String: JSONValue] = ["error": .string(code)]
        if let description { members["error_description"] = .string(description) }
        return json(.object(members), status: status)
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .found, headers: [.location: location, .cacheControl: "no-store"])
    }
}
