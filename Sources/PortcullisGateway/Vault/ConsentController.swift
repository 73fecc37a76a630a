import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PortcullisCore
import PortcullisIdentity
import PortcullisPolicy
import PortcullisStore
import PortcullisVault

/// The browser side of the user-consent flow, and its binding:
///
/// - `GET /identities/oauth2/authorize?request_uri=…` — the authorization URL an agent got. For a user known by
///   their access token it first signs the browser in (the gateway's own sign-in) and checks it is that user; then
///   it redirects (303) to the vendor with a single-use state, PKCE where the vendor takes it, and a cookie.
/// - `GET /identities/oauth2/callback/{provider id}` — the vendor's return: state, cookie and provider checked,
///   the code exchanged once, then 303 to the workload's return URL with `session_id` (and `custom_state`).
/// - `POST /identities/CompleteResourceTokenAuth` — the application behind the return URL confirms the user; the
///   token is released only if it is the user the agent asked for.
struct ConsentController: Sendable {
    let consent: ConsentFlow
    let providers: CredentialProviders
    let store: any CredentialProviderStore
    let browserSessions: BrowserSessions
    let issuers: IssuerRegistry
    let jwtAuthenticator: JWTAuthenticator
    let gate: AdministratorGate
    let advertisedURL: AdvertisedGatewayURL
    let audit: AuditLog
    let clock: any WallClock
    let logger: Logger

    static let secureCookie = "__Host-portcullis_consent"
    static let plainCookie = "portcullis_consent"
    static let maxQueryBytes = 8192

    func register(on router: Router<GatewayRequestContext>) {
        router.get("/identities/oauth2/authorize", use: authorize)
        router.get("/identities/oauth2/callback/:provider", use: callback)
        router.post("/identities/CompleteResourceTokenAuth", use: complete)
    }

    private var isTLS: Bool { advertisedURL.base?.hasPrefix("https://") == true }

    @Sendable func authorize(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        guard (request.uri.query?.utf8.count ?? 0) <= Self.maxQueryBytes else { return Self.page("Request too large", "The link is too long.", .badRequest) }
        let query = QueryParameters(request.uri.query)
        guard query.isValid, let uri = query["request_uri"], let session = try await consent.session(uri: uri) else {
            return Self.page("Link not valid", "This authorization link is unknown or has expired. Ask the agent again.", .badRequest)
        }
        guard session.expiresAt > clock.now() else {
            return Self.page("Link expired", "This authorization link has expired. Ask the agent again.", .badRequest)
        }
        if case .token(let issuer, let subject)? = WorkloadUser(key: session.userKey) {
            // The agent acts for a signed-in user: only that user may grant it access.
            guard let principal = await browserSessions.principal(for: request.headers) else {
                guard let name = signInIssuer(for: issuer) else {
                    return Self.page("Sign-in unavailable", "No identity provider here can sign you in for this request.", .forbidden)
                }
                let returnTo = "/identities/oauth2/authorize?request_uri=" + PercentEncoding.encodeSegment(uri)
                let location = "/auth/login?issuer=" + PercentEncoding.encodeSegment(name) + "&return_to=" + PercentEncoding.encodeSegment(returnTo)
                return Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
            }
            guard principal.issuer == issuer, principal.subject == subject else {
                logger.warning("a consent link was opened by another user", metadata: ["principal": "\(principal.id)", "request_id": "\(context.requestId)"])
                return Self.page("Not your request", "You are signed in as someone other than the user this request is for.", .forbidden)
            }
        }
        let client: OAuth2Tokens.Client
        do {
            client = try await oauth2Client(providerId: session.providerId)
        } catch {
            return Self.page("Provider unavailable", "The credential provider of this request is gone.", .badRequest)
        }
        let redirect: ConsentFlow.Redirect
        do throws(AgentCoreError) {
            redirect = try await consent.redirect(session, client: client, callbackURL: callbackURL(session.providerId))
        } catch {
            return Self.page("Link not valid", error.message, .badRequest)
        }
        var headers: HTTPFields = [.location: redirect.url, .cacheControl: "no-store"]
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        headers.append(HTTPField(name: .setCookie, value: cookie(redirect.browserNonce, maxAge: Int(ConsentFlow.lifetimeSeconds))))
        return Response(status: .seeOther, headers: headers)
    }

    @Sendable func callback(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        guard (request.uri.query?.utf8.count ?? 0) <= Self.maxQueryBytes else { return Self.page("Request too large", "The callback is too long.", .badRequest) }
        let query = QueryParameters(request.uri.query)
        guard query.isValid, let providerId = context.parameters.get("provider"), providerId.utf8.count <= 64 else {
            return Self.page("Sign-in refused", "The callback is malformed.", .badRequest)
        }
        let client: OAuth2Tokens.Client
        do {
            client = try await oauth2Client(providerId: providerId)
        } catch {
            return Self.page("Sign-in refused", "This callback belongs to no credential provider.", .badRequest)
        }
        let nonce = BrowserSessions.cookies(in: request.headers)[isTLS ? Self.secureCookie : Self.plainCookie]
        let result: ConsentFlow.CallbackResult
        do throws(ConsentFlow.CallbackError) {
            result = try await consent.callback(
                providerId: providerId, state: query["state"], code: query["code"], vendorError: query["error"], browserNonce: nonce, client: client,
                callbackURL: callbackURL(providerId), bindNow: { $0.request.returnURL == nil }
            )
        } catch {
            return Self.page("Access not granted", error.message, HTTPResponse.Status(code: error.status))
        }
        var headers: HTTPFields = [.cacheControl: "no-store"]
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        headers.append(HTTPField(name: .setCookie, value: cookie("", maxAge: 0)))
        switch result {
        case .completed(let session):
            record(session, outcome: "success", action: "ConsentCallback")
            var response = Self.page("Access granted", "\(client.providerName) access is granted. You can close this window; the agent continues.", .ok)
            response.headers.append(HTTPField(name: .setCookie, value: cookie("", maxAge: 0)))
            return response
        case .awaitingBinding(let session):
            record(session, outcome: "awaiting_binding", action: "ConsentCallback")
            guard let returnURL = session.request.returnURL else { return Self.page("Access not granted", "No return URL.", .badRequest) }
            var parameters = [("session_id", session.sessionURI)]
            if let state = session.request.customState { parameters.append(("custom_state", state)) }
            headers[.location] = returnURL + (returnURL.contains("?") ? "&" : "?") + PercentEncoding.encodeForm(parameters)
            return Response(status: .seeOther, headers: headers)
        }
    }

    /// `{sessionUri, userIdentifier: {userToken} | {userId}}` → `{}`.
    @Sendable func complete(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (principal, fields) = try await gate.authenticateFields(request)
        let uri = try fields.string("sessionUri", required: true, length: 1...1024)!
        let (kind, identifier) = try Self.userIdentifier(fields)
        guard let session = try await consent.session(uri: uri) else {
            throw AgentCoreError.invalidField("sessionUri", "Invalid or expired session")
        }
        try gate.authorize(principal, .completeResourceTokenAuth, .workload(WorkloadFacts(name: session.workload)), request, context)
        let user: WorkloadUser
        if kind == "userToken" {
            let proven: Principal
            do throws(AuthenticationError) {
                proven = try await jwtAuthenticator.authenticate(.bearerToken(identifier))
            } catch {
                throw AgentCoreError(.unauthorized, "The user token is not valid")
            }
            guard let issuer = proven.issuer, let subject = proven.subject else { throw AgentCoreError(.unauthorized, "The user token names no issuer and subject") }
            user = .token(issuer: issuer, subject: subject)
        } else {
            user = .id(identifier)
        }
        let client = try await oauth2Client(providerId: session.providerId)
        do throws(AgentCoreError) {
            try await consent.complete(session, user: user, client: client)
        } catch {
            record(session, outcome: error.code == .accessDenied ? "denied" : "failure", action: "CompleteResourceTokenAuth", by: principal.id)
            throw error
        }
        record(session, outcome: "success", action: "CompleteResourceTokenAuth", by: principal.id)
        return ControlPlaneController.json(.object([:]))
    }

    // MARK: - Helpers

    private func oauth2Client(providerId: String) async throws -> OAuth2Tokens.Client {
        guard let record = try await store.credentialProvider(id: providerId), record.kind == .oauth2 else {
            throw AgentCoreError.notFound("No such credential provider")
        }
        return try await providers.oauth2Client(record)
    }

    private func callbackURL(_ providerId: String) -> String {
        (advertisedURL.base ?? "") + OAuth2ProviderController.callbackPath(providerId: providerId)
    }

    /// The issuer that can sign in the user a consent is for.
    private func signInIssuer(for canonicalIssuer: String) -> String? {
        let candidates = issuers.issuers.filter { $0.configuration.signIn != nil }
        return (candidates.first { $0.metadata?.issuer == canonicalIssuer } ?? (candidates.count == 1 ? candidates.first : nil))?.name
    }

    private func cookie(_ value: String, maxAge: Int) -> String {
        isTLS
            ? "\(Self.secureCookie)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; Secure; SameSite=Lax"
            : "\(Self.plainCookie)=\(value); Path=/identities/oauth2/; Max-Age=\(maxAge); HttpOnly; SameSite=Lax"
    }

    private func record(_ session: ConsentSession, outcome: String, action: String, by caller: String? = nil) {
        var details: [String: JSONValue] = ["providerId": .string(session.providerId), "workload": .string(session.workload), "flow": .string("user_federation")]
        if let user = WorkloadUser(key: session.userKey) { details["user"] = .string(user.displayName) }
        if let caller { details["caller"] = .string(caller) }
        audit.record(AuditEvent(time: clock.now(), kind: .vaultAccess, principal: "workload:" + session.workload, action: action, outcome: outcome, details: details))
    }

    static func userIdentifier(_ fields: RequestFields) throws(AgentCoreError) -> (String, String) {
        let union = try fields.object("userIdentifier", required: true)!
        let present = ["userToken", "userId"].filter { union.isPresent($0) }
        guard present.count == 1 else { throw AgentCoreError.invalidField("userIdentifier", "Member must set exactly one of userToken, userId") }
        let value = present[0] == "userToken"
            ? try union.string("userToken", required: true, length: 1...131_072)!
            : try union.string("userId", required: true, length: 1...128)!
        return (present[0], value)
    }

    static func page(_ title: String, _ message: String, _ status: HTTPResponse.Status) -> Response {
        HTMLPage(title: title, body: "<p>\(HTMLPage.escape(message))</p>").response(status: status)
    }
}
