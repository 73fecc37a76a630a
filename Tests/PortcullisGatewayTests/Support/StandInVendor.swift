import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PortcullisCore
import Synchronization

/// A local OAuth 2.0 authorization server that behaves as Slack, GitHub or Zoom document theirs — the only stand-ins
/// the tests use, since those are third-party services. It approves every authorization at once (the user
/// consents), issues codes once, rotates refresh tokens (only the newest works; reusing a used one revokes the whole
/// family, as RFC 9700 §4.14.2 asks), and counts every call so tests can prove what the vault sent.
final class StandInVendor: Sendable {
    enum Style: String, Sendable {
        /// Errors with HTTP 200, a form-encoded answer unless `Accept: application/json`, client credentials in the body.
        case github
        /// The Web API `ok` envelope, the user's token under `authed_user`, errors with HTTP 200, HTTP Basic.
        case slack
        /// JSON, HTTP Basic, errors as 4xx JSON, a one-hour token and a new refresh token on every refresh.
        case zoom
        /// A plain RFC 6749 server with the client-credentials grant.
        case custom
    }

    struct State {
        var codes: [String: (redirectURI: String, challenge: String?, scope: String, used: Bool)] = [:]
        /// refresh token → (family, still the newest).
        var refreshTokens: [String: (family: String, current: Bool)] = [:]
        var revokedFamilies: Set<String> = []
        var accessTokens: [String: String] = [:]
        var authorizeRequests: [[String: String]] = []
        var tokenRequests: [String: Int] = [:]
        var reuseDetected = 0
        var refreshDelay: Duration = .zero
        /// How long a client-credentials grant takes to answer.
        var mintDelay: Duration = .zero
        var failNextTokenCalls = 0
        var accessLifetime = 3600
        var denyNext = false
        /// access token → the refresh token issued with it.
        var pairs: [String: String] = [:]
        /// The scopes the user grants (in the vendor's own list format), whatever was asked; `nil`: all that was asked.
        var grantOnly: String?
        /// Calls to the revocation endpoint, and the token (with its `token_type_hint`, if any) each one named.
        var revokeRequests: [(token: String, hint: String?)] = []
        /// Revocation calls to answer as the vendor does when it is down or throttling.
        var failNextRevocations = 0
    }

    let style: Style
    let clientId: String
    let clientSecret: String
    let state = Mutex(State())

    init(style: Style, clientId: String = "stand-in-client", clientSecret: String = "stand-in-secret-" + SecureRandom.alphanumeric(16)) {
        self.style = style
        self.clientId = clientId
        self.clientSecret = clientSecret
    }

    var authorizeRequests: [[String: String]] { state.withLock { $0.authorizeRequests } }
    func tokenRequests(_ grant: String) -> Int { state.withLock { $0.tokenRequests[grant, default: 0] } }
    var reuseDetected: Int { state.withLock { $0.reuseDetected } }
    var revokeRequests: [(token: String, hint: String?)] { state.withLock { $0.revokeRequests } }
    /// Every access token issued so far.
    var issuedAccessTokens: [String] { state.withLock { Array($0.accessTokens.keys) } }
    /// Whether `token` is a live access token this vendor issued.
    func isLive(_ token: String) -> Bool { state.withLock { state in state.accessTokens[token].map { !state.revokedFamilies.contains($0) } ?? false } }
    func configure(_ change: (inout State) -> Void) { state.withLock { change(&$0) } }

    /// A grant as if a user had consented: its access and refresh tokens.
    func grant() -> (access: String, refresh: String) {
        let access = "at-" + SecureRandom.alphanumeric(24)
        let refresh = "rt-" + SecureRandom.alphanumeric(24)
        let family = "family-" + SecureRandom.alphanumeric(8)
        state.withLock { state in
            state.accessTokens[access] = family
            state.refreshTokens[refresh] = (family, true)
            state.pairs[access] = refresh
        }
        return (access, refresh)
    }

    /// Serves the vendor on loopback for `body`, with its base URL.
    func run<T: Sendable>(_ body: (String) async throws -> T) async throws -> T {
        let router = Router()
        router.get("/authorize") { request, _ in self.authorize(request) }
        router.post("/token") { request, _ in try await self.token(request) }
        switch style {
        case .slack: router.post("/api/auth.revoke") { request, _ in try await self.revoke(request) }
        case .zoom: router.post("/oauth/revoke") { request, _ in try await self.revoke(request) }
        case .github: router.delete("/applications/:client/token") { request, context in try await self.revoke(request, client: context.parameters.get("client")) }
        case .custom: router.post("/revoke") { request, _ in try await self.revoke(request) }
        }
        return try await withRunningApplication({ onRunning in
            Application(router: router, configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)), onServerRunning: onRunning, logger: testLogger)
        }) { port in try await body("http://127.0.0.1:\(port)") }
    }

    private func authorize(_ request: Request) -> Response {
        let query = QueryParameters(request.uri.query)
        var recorded: [String: String] = [:]
        for name in ["client_id", "redirect_uri", "state", "scope", "user_scope", "code_challenge", "code_challenge_method", "response_type", "access_type", "prompt", "login_hint", "resource"] {
            recorded[name] = query[name]
        }
        let deny = state.withLock { state -> Bool in
            state.authorizeRequests.append(recorded)
            defer { state.denyNext = false }
            return state.denyNext
        }
        guard query["client_id"] == clientId, let redirect = query["redirect_uri"], let stateValue = query["state"] else {
            return Response(status: .badRequest)
        }
        if deny {
            return Response(status: .found, headers: [.location: redirect + "?error=access_denied&state=" + PercentEncoding.encodeSegment(stateValue)])
        }
        let code = "code-" + SecureRandom.alphanumeric(20)
        state.withLock { $0.codes[code] = (redirect, query["code_challenge"], query[style == .slack ? "user_scope" : "scope"] ?? "", false) }
        return Response(status: .found, headers: [.location: redirect + "?code=\(code)&state=" + PercentEncoding.encodeSegment(stateValue)])
    }

    private func token(_ request: Request) async throws -> Response {
        let body = try await request.body.collect(upTo: 65536)
        let form = QueryParameters(String(buffer: body))
        let grant = form["grant_type"] ?? ""
        let (delay, failing) = state.withLock { state -> (Duration, Bool) in
            state.tokenRequests[grant, default: 0] += 1
            let failing = state.failNextTokenCalls > 0
            if failing { state.failNextTokenCalls -= 1 }
            return (grant == "refresh_token" ? state.refreshDelay : grant == "client_credentials" ? state.mintDelay : .zero, failing)
        }
        if delay > .zero { try await Task.sleep(for: delay) }
        if failing { return Response(status: .serviceUnavailable) }
        guard authenticated(request, form) else { return error("invalid_client", "incorrect_client_credentials", status: .unauthorized, request) }
        switch grant {
        case "authorization_code":
            let granted = state.withLock { state -> String? in
                guard let code = form["code"], let issued = state.codes[code], !issued.used, issued.redirectURI == form["redirect_uri"] else { return nil }
                state.codes[code]?.used = true
                if let challenge = issued.challenge {
                    guard let verifier = form["code_verifier"], Base64URL.encode(Array(SHA256.hash(data: Array(verifier.utf8)))) == challenge else { return nil }
                }
                // What the user approved: all that was asked, unless the test has the user grant less.
                return state.grantOnly ?? issued.scope
            }
            guard let granted else { return error("invalid_grant", style == .github ? "bad_verification_code" : "invalid_code", status: .badRequest, request) }
            return issue(family: "family-" + SecureRandom.alphanumeric(8), request, scope: granted)
        case "refresh_token":
            let family = state.withLock { state -> String? in
                guard let token = form["refresh_token"], let entry = state.refreshTokens[token], !state.revokedFamilies.contains(entry.family) else { return nil }
                guard entry.current else {
                    // A used refresh token again: someone has a copy. The whole family dies.
                    state.reuseDetected += 1
                    state.revokedFamilies.insert(entry.family)
                    return nil
                }
                state.refreshTokens[token]?.current = false
                return entry.family
            }
            guard let family else { return error("invalid_grant", style == .github ? "bad_refresh_token" : style == .slack ? "invalid_refresh_token" : "invalid_grant", status: .badRequest, request) }
            return issue(family: family, request)
        case "client_credentials" where style == .custom:
            return issue(family: "m2m-" + SecureRandom.alphanumeric(8), request, refresh: false, scope: state.withLock { $0.grantOnly } ?? form["scope"])
        default:
            return error("unsupported_grant_type", "unsupported_grant_type", status: .badRequest, request)
        }
    }

    /// The revocation endpoint's path (with GitHub's `{client_id}`), as the vault is configured with it. Each behaves
    /// as its vendor documents it: Slack's `auth.revoke` takes the token as the bearer and
    /// answers its `ok` envelope (`invalid_auth` for a dead token, with 200); Zoom takes HTTP Basic and the form
    /// `token`, and refuses an unknown one; GitHub's `DELETE /applications/{client_id}/token` takes HTTP Basic and a
    /// JSON `access_token`, answers 204, 422 for a token it does not know and 404 for wrong client credentials; the
    /// plain server is RFC 7009 (200 whatever became of the token). Revoking any token of a grant ends the grant.
    var revocationPath: String {
        switch style {
        case .slack: return "/api/auth.revoke"
        case .zoom: return "/oauth/revoke"
        case .github: return "/applications/{client_id}/token"
        case .custom: return "/revoke"
        }
    }

    /// Answers a revocation call as ``revocationPath``'s vendor does.
    private func revoke(_ request: Request, client: String? = nil) async throws -> Response {
        let body = String(buffer: try await request.body.collect(upTo: 65536))
        let form = QueryParameters(body)
        let (token, hint): (String?, String?)
        switch style {
        case .slack:
            let header = request.headers[.authorization] ?? ""
            (token, hint) = (header.hasPrefix("Bearer ") ? String(header.dropFirst(7)) : nil, nil)
        case .github:
            let members = try? StrictJSON.parseObject(Array(body.utf8), maxDepth: 4)
            (token, hint) = (members?["access_token"]?.stringValue, nil)
        case .zoom, .custom:
            (token, hint) = (form["token"], form["token_type_hint"])
        }
        let failing = state.withLock { state -> Bool in
            state.revokeRequests.append((token ?? "", hint))
            let failing = state.failNextRevocations > 0
            if failing { state.failNextRevocations -= 1 }
            return failing
        }
        if failing {
            if style == .slack { return json(["ok": .bool(false), "error": .string("ratelimited")], status: .tooManyRequests) }
            return Response(status: .serviceUnavailable)
        }
        switch style {
        case .slack: break
        case .github:
            guard client == clientId, authenticated(request, form, basicOnly: true) else { return json(["message": .string("Not Found")], status: .notFound) }
        case .zoom, .custom:
            guard authenticated(request, form) else { return error("invalid_client", "invalid_client", status: .unauthorized, request) }
        }
        let revoked = state.withLock { state -> Bool in
            guard let token, let family = state.accessTokens[token] ?? state.refreshTokens[token]?.family, !state.revokedFamilies.contains(family) else { return false }
            state.revokedFamilies.insert(family)
            return true
        }
        switch style {
        case .slack:
            return json(revoked ? ["ok": .bool(true), "revoked": .bool(true)] : ["ok": .bool(false), "error": .string("invalid_auth")], status: .ok)
        case .github:
            return revoked ? Response(status: .noContent) : json(["message": .string("Validation Failed")], status: .unprocessableContent)
        case .zoom:
            return revoked ? json(["status": .string("success")], status: .ok) : json(["reason": .string("Invalid Token!"), "error": .string("invalid_request")], status: .badRequest)
        case .custom:
            return Response(status: .ok)
        }
    }

    /// Slack and Zoom take HTTP Basic, GitHub the body parameters, the plain server either: a vault that sends the
    /// wrong one is refused, as the vendor would.
    private func authenticated(_ request: Request, _ form: QueryParameters, basicOnly: Bool = false) -> Bool {
        var basic = false
        if let header = request.headers[.authorization], header.hasPrefix("Basic "),
            let decoded = Data(base64Encoded: String(header.dropFirst(6))).flatMap({ String(data: $0, encoding: .utf8) })
        {
            let parts = decoded.split(separator: ":", maxSplits: 1).map { PercentEncoding.decode($0) ?? "" }
            basic = parts.count == 2 && parts[0] == clientId && parts[1] == clientSecret
        }
        let body = form["client_id"] == clientId && form["client_secret"] == clientSecret
        if basicOnly { return basic }
        switch style {
        case .slack, .zoom: return basic
        case .github: return body
        case .custom: return basic || body
        }
    }

    /// `scope`: the granted scopes, as the vendor lists them (a refresh's answer leaves them out, as RFC 6749 allows).
    private func issue(family: String, _ request: Request, refresh: Bool = true, scope: String? = nil) -> Response {
        let prefix = style == .slack ? "xoxp-" : style == .github ? "ghu_" : "at-"
        let access = prefix + SecureRandom.alphanumeric(24)
        let refreshToken = (style == .slack ? "xoxe-1-" : style == .github ? "ghr_" : "rt-") + SecureRandom.alphanumeric(24)
        let lifetime = state.withLock { state -> Int in
            state.accessTokens[access] = family
            if refresh {
                state.refreshTokens[refreshToken] = (family, true)
                state.pairs[access] = refreshToken
            }
            return state.accessLifetime
        }
        var token: [String: JSONValue] = ["access_token": .string(access), "token_type": .string("bearer"), "expires_in": .number(Double(lifetime))]
        if let scope { token["scope"] = .string(scope) }
        if refresh { token["refresh_token"] = .string(refreshToken) }
        switch style {
        case .slack:
            return json([
                "ok": .bool(true), "access_token": .string("xoxb-bot-" + SecureRandom.alphanumeric(12)), "token_type": .string("bot"),
                "team": .object(["id": .string("T1")]), "authed_user": .object(token.merging(["id": .string("U1"), "token_type": .string("user")]) { $1 }),
            ], status: .ok)
        case .github where request.headers[.accept] != "application/json":
            return form(token)
        default:
            return json(token, status: .ok)
        }
    }

    private func error(_ standard: String, _ vendorCode: String, status: HTTPResponse.Status, _ request: Request) -> Response {
        switch style {
        case .slack: return json(["ok": .bool(false), "error": .string(vendorCode)], status: .ok)
        case .github: return json(["error": .string(vendorCode), "error_description": .string("The code or token is wrong")], status: .ok)
        case .zoom: return json(["reason": .string("Invalid Token!"), "error": .string(standard)], status: status)
        case .custom: return json(["error": .string(standard)], status: status)
        }
    }

    private func json(_ members: [String: JSONValue], status: HTTPResponse.Status) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONValue.object(members).serialized())))
    }

    private func form(_ members: [String: JSONValue]) -> Response {
        let pairs = members.sorted { $0.key < $1.key }.map { ($0.key, $0.value.stringValue ?? $0.value.numberText) }
        return Response(status: .ok, headers: [.contentType: "application/x-www-form-urlencoded"], body: ResponseBody(byteBuffer: ByteBuffer(string: PercentEncoding.encodeForm(pairs))))
    }
}

extension JSONValue {
    fileprivate var numberText: String {
        if case .number(let value) = self { return String(Int(value)) }
        return ""
    }
}
