import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PortcullisCore
import PortcullisIdentity

/// End-user sign-in through a trusted issuer: the authorization code flow with PKCE S256, `state` bound to the
/// browser and a `nonce` checked in the ID token, then a session cookie. The token vault's consent pages and the
/// admin pages use the session; `portcullis login` reads `/auth/issuers`.
struct SignInController: Sendable {
    let issuers: IssuerRegistry
    let verifier: IDTokenVerifier
    let sessions: BrowserSessions
    let pending: PendingSignIns
    /// Client secrets of the issuers' sign-in clients, read once at start-up.
    let clientSecrets: [String: String]
    let baseURL: PublicBaseURL
    let logger: Logger

    func register(on router: Router<GatewayRequestContext>) {
        router.get("/auth/issuers") { request, _ in self.issuerList(request) }
        router.get("/auth/login") { request, _ in self.login(request) }
        router.get("/auth/callback") { request, _ in await self.callback(request) }
        router.post("/auth/logout") { request, _ in try await self.logout(request) }
        router.get("/auth/session") { request, _ in await self.session(request) }
    }

    /// Issuers people can sign in with, and what a command-line client needs for it. Nothing secret.
    private func issuerList(_ request: Request) -> Response {
        let entries: [JSONValue] = issuers.issuers.compactMap { issuer in
            guard let signIn = issuer.configuration.signIn, let metadata = issuer.metadata else { return nil }
            var members: [String: JSONValue] = [
                "name": .string(issuer.name), "issuer": .string(metadata.issuer),
                "cliClientId": .string(signIn.cliClientId ?? signIn.clientId), "scopes": .array(signIn.scopes.map(JSONValue.string)),
            ]
            if let endpoint = metadata.authorizationEndpoint { members["authorizationEndpoint"] = .string(endpoint) }
            if let endpoint = metadata.tokenEndpoint { members["tokenEndpoint"] = .string(endpoint) }
            if let endpoint = metadata.deviceAuthorizationEndpoint { members["deviceAuthorizationEndpoint"] = .string(endpoint) }
            return .object(members)
        }
        return Self.json(.object(["issuers": .array(entries)]))
    }

    private func login(_ request: Request) -> Response {
        let query = QueryParameters(request.uri.query)
        guard let name = query["issuer"], let issuer = issuers.issuer(named: name), let signIn = issuer.configuration.signIn else {
            return Self.page("Sign-in unavailable", "No identity provider with that name offers sign-in here.", .badRequest)
        }
        guard let endpoint = issuer.metadata?.authorizationEndpoint, let base = baseURL.resolve(authority: request.head.authority) else {
            return Self.page("Sign-in unavailable", "The identity provider's metadata is not available yet; try again shortly.", .serviceUnavailable)
        }
        guard let returnTo = Self.safeReturnPath(query["return_to"] ?? "/auth/session") else {
            return Self.page("Sign-in refused", "return_to must be a path on this gateway.", .badRequest)
        }
        let redirectURI = base + "/auth/callback"
        let nonce = PKCE.randomToken()
        let pkce = PKCE()
        let (state, binding) = pending.start(issuerName: issuer.name, nonce: nonce, pkce: pkce, redirectURI: redirectURI, returnTo: returnTo)
        let client = OAuthClient(clientId: signIn.clientId, clientSecret: clientSecrets[issuer.name])
        let location = client.authorizationURL(endpoint: endpoint, redirectURI: redirectURI, scopes: signIn.scopes, state: state, nonce: nonce, pkce: pkce)
        var headers: HTTPFields = [.location: location, .cacheControl: "no-store"]
        headers.append(HTTPField(
            name: .setCookie,
            value: "\(PendingSignIns.bindingCookie)=\(binding); Path=/auth/callback; Max-Age=\(Int(PendingSignIns.lifetime)); HttpOnly; SameSite=Lax"
                + (base.hasPrefix("https://") ? "; Secure" : "")
        ))
        return Response(status: .found, headers: headers)
    }

    private func callback(_ request: Request) async -> Response {
        let query = QueryParameters(request.uri.query)
        if let error = query["error"] {
            return Self.page("Sign-in not completed", "The identity provider answered: \(error).", .badRequest)
        }
        guard let state = query["state"], let code = query["code"],
            let entry = pending.finish(state: state, binding: BrowserSessions.cookies(in: request.headers)[PendingSignIns.bindingCookie])
        else {
            return Self.page("Sign-in refused", "This sign-in was not started in this browser, was already used, or took too long. Start again.", .badRequest)
        }
        guard let issuer = issuers.issuer(named: entry.issuerName), let signIn = issuer.configuration.signIn,
            let tokenEndpoint = issuer.metadata?.tokenEndpoint
        else {
            return Self.page("Sign-in unavailable", "The identity provider is no longer available.", .serviceUnavailable)
        }
        let client = OAuthClient(clientId: signIn.clientId, clientSecret: clientSecrets[issuer.name])
        let principal: Principal
        do {
            let tokens = try await client.exchange(code: code, redirectURI: entry.redirectURI, pkce: entry.pkce, tokenEndpoint: tokenEndpoint)
            guard let idToken = tokens.idToken else {
                return Self.page("Sign-in refused", "The identity provider returned no ID token; the openid scope is required.", .badGateway)
            }
            principal = try await verifier.verify(idToken, issuerName: issuer.name, clientId: signIn.clientId, nonce: entry.nonce)
        } catch let error as AuthenticationError {
            logger.info("sign-in refused", metadata: ["issuer": "\(issuer.name)", "reason": "\(error.failure.rawValue)", "detail": "\(error.detail ?? "")"])
            return Self.page("Sign-in refused", "The identity provider's answer could not be verified.", .badRequest)
        } catch {
            logger.info("sign-in failed", metadata: ["issuer": "\(issuer.name)", "error": "\(error)"])
            return Self.page("Sign-in failed", "The identity provider did not accept the sign-in.", .badGateway)
        }
        let secure = entry.redirectURI.hasPrefix("https://")
        do {
            let cookie = try await sessions.create(for: principal, secure: secure)
            logger.notice("signed in", metadata: ["issuer": "\(issuer.name)", "principal": "\(principal.id)"])
            var headers: HTTPFields = [.location: entry.returnTo, .cacheControl: "no-store"]
            headers.append(HTTPField(name: .setCookie, value: cookie))
            headers.append(HTTPField(name: .setCookie, value: "\(PendingSignIns.bindingCookie)=; Path=/auth/callback; Max-Age=0; HttpOnly; SameSite=Lax"))
            return Response(status: .found, headers: headers)
        } catch {
            logger.error("could not store a browser session", metadata: ["error": "\(error)"])
            return Self.page("Sign-in failed", "The session could not be stored.", .internalServerError)
        }
    }

    private func logout(_ request: Request) async throws -> Response {
        var headers: HTTPFields = [.location: "/auth/session", .cacheControl: "no-store"]
        for cookie in try await sessions.end(for: request.headers) {
            headers.append(HTTPField(name: .setCookie, value: cookie))
        }
        return Response(status: .seeOther, headers: headers)
    }

    private func session(_ request: Request) async -> Response {
        guard let principal = await sessions.principal(for: request.headers) else {
            return Self.json(.object(["signedIn": .bool(false)]))
        }
        return Self.json(.object([
            "signedIn": .bool(true), "id": .string(principal.id), "displayName": .string(principal.displayName),
            "issuer": .string(principal.issuerName ?? ""), "groups": .array(principal.groups.map(JSONValue.string)),
        ]))
    }

    /// A path on this gateway (`/…`, not `//…` or `/\…`, which browsers treat as another host).
    static func safeReturnPath(_ path: String) -> String? {
        guard path.hasPrefix("/"), !path.hasPrefix("//"), !path.hasPrefix("/\\"), path.utf8.count <= 2048,
            path.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F && $0 != "\\" })
        else { return nil }
        return path
    }

    static func json(_ value: JSONValue) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: value.serialized()))
        )
    }

    static func page(_ title: String, _ message: String, _ status: HTTPResponse.Status) -> Response {
        HTMLPage(title: title, body: "<p>\(HTMLPage.escape(message))</p><p><a href=\"/auth/session\">Session</a></p>").response(status: status)
    }
}
