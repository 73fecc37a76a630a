import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
@testable import PortcullisCore
@testable import PortcullisGateway
@testable import PortcullisIdentity
import PortcullisStore
import Synchronization
import Testing

/// A browser that follows no redirects on its own and keeps cookies, so each step of a sign-in can be checked.
final class TestBrowser: Sendable {
    let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: .init(redirectConfiguration: .disallow))
    private let jar = CookieJar()

    struct Page {
        var status: Int
        var headers: HTTPHeaders
        var body: String
        var location: String? { headers.first(name: "Location") }
    }

    func get(_ url: String, cookies: Bool = true) async throws -> Page {
        try await send(.GET, url, form: nil, cookies: cookies)
    }

    func post(_ url: String, form: [(String, String)], headers: [(String, String)] = [], cookies: Bool = true) async throws -> Page {
        try await send(.POST, url, form: form, headers: headers, cookies: cookies)
    }

    private func send(_ method: HTTPMethod, _ url: String, form: [(String, String)]?, headers: [(String, String)] = [], cookies: Bool) async throws -> Page {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if cookies, let header = jar.header(for: url) { request.headers.add(name: "Cookie", value: header) }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let form {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: PercentEncoding.encodeForm(form)))
        }
        let response = try await client.execute(request, timeout: .seconds(30))
        for value in response.headers["Set-Cookie"] { jar.store(value) }
        // The head has a deadline; the body gets one too, so a response that never ends fails the test, naming it,
        // instead of hanging the run.
        let body = try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask { try await response.body.collect(upTo: 1 << 20) }
            group.addTask {
                try await Task.sleep(for: .seconds(30))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let body = first else {
                throw TestFailure("\(method) \(url): the response body did not end within 30 s (status \(response.status.code))")
            }
            return body
        }
        return Page(status: Int(response.status.code), headers: response.headers, body: String(buffer: body))
    }

    func shutdown() async throws {
        try await client.shutdown()
    }

    /// Runs `body` with a fresh browser, shut down afterwards whatever happens.
    static func with<T>(_ body: (TestBrowser) async throws -> T) async throws -> T {
        let browser = TestBrowser()
        do {
            let result = try await body(browser)
            try await browser.shutdown()
            return result
        } catch {
            try? await browser.shutdown()
            throw error
        }
    }

    /// The sign-in page's form for a user: its action and fields.
    static func form(in html: String, forUser user: String) throws -> (action: String, fields: [(String, String)]) {
        for match in html.components(separatedBy: "<form ").dropFirst() {
            guard match.contains("name=\"user\" value=\"\(user)\"") else { continue }
            let action = try #require(match.slice(from: "action=\"", to: "\""))
            var fields: [(String, String)] = []
            for input in match.components(separatedBy: "<input ").dropFirst() {
                guard let name = input.slice(from: "name=\"", to: "\""), let value = input.slice(from: "value=\"", to: "\"") else { continue }
                fields.append((name.htmlUnescaped, value.htmlUnescaped))
            }
            return (action.htmlUnescaped, fields)
        }
        throw TestFailure("no form for \(user)")
    }
}

/// Cookies by name, as a browser on one host keeps them (paths and expiry honoured enough for these tests).
final class CookieJar: Sendable {
    private let cookies = Mutex<[String: (value: String, path: String)]>([:])

    func store(_ header: String) {
        let parts = header.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let pair = parts.first, let equals = pair.firstIndex(of: "=") else { return }
        let name = String(pair[..<equals])
        let value = String(pair[pair.index(after: equals)...])
        let path = parts.first { $0.hasPrefix("Path=") }.map { String($0.dropFirst(5)) } ?? "/"
        let expired = parts.contains("Max-Age=0")
        cookies.withLock { cookies in
            if expired || value.isEmpty { cookies.removeValue(forKey: name) } else { cookies[name] = (value, path) }
        }
    }

    func header(for url: String) -> String? {
        let path = URLComponents(string: url)?.path ?? "/"
        let matching = cookies.withLock { $0.filter { path.hasPrefix($0.value.path) }.map { "\($0.key)=\($0.value.value)" } }
        return matching.isEmpty ? nil : matching.sorted().joined(separator: "; ")
    }
}

extension String {
    func slice(from start: String, to end: String) -> String? {
        guard let lower = range(of: start)?.upperBound, let upper = self[lower...].range(of: end)?.lowerBound else { return nil }
        return String(self[lower..<upper])
    }

    var htmlUnescaped: String {
        replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'").replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
    }
}

@Suite("End-user sign-in and the development identity provider")
struct SignInTests {
    /// Signs `user` in through the development provider; returns the callback page (which sets the session).
    static func signIn(_ browser: TestBrowser, _ gateway: TestGateway, user: String, returnTo: String = "/auth/session") async throws -> TestBrowser.Page {
        let login = try await browser.get(gateway.baseURL + "/auth/login?issuer=dev&return_to=\(PercentEncoding.encodeSegment(returnTo))")
        #expect(login.status == 302)
        let authorize = try #require(login.location)
        #expect(authorize.contains("code_challenge_method=S256") && authorize.contains("nonce=") && authorize.contains("state="))
        let page = try await browser.get(authorize)
        #expect(page.status == 200 && page.headers.first(name: "Content-Security-Policy")?.contains("frame-ancestors 'none'") == true)
        let (action, fields) = try TestBrowser.form(in: page.body, forUser: user)
        let chosen = try await browser.post(gateway.baseURL + action, form: fields)
        #expect(chosen.status == 302)
        return try await browser.get(try #require(chosen.location))
    }

    @Test("browser sign-in: code flow with PKCE, a session cookie, the session's principal, logout")
    func browserSignIn() async throws {
        try await TestGateway.runDevelopment { gateway in try await TestBrowser.with { (browser: TestBrowser) async throws in
            let callback = try await Self.signIn(browser, gateway, user: "bob")
            #expect(callback.status == 302 && callback.location == "/auth/session")
            let cookie = try #require(callback.headers["Set-Cookie"].first { $0.hasPrefix("portcullis_session=") })
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"))
            let session = try TestGateway.json(try await browser.get(gateway.baseURL + "/auth/session").body)
            #expect(session["signedIn"] as? Bool == true)
            #expect(session["id"] as? String == "http://127.0.0.1:\(gateway.port)/dev-idp|bob")
            #expect(session["groups"] as? [String] == ["agents-users", "platform-admins"])
            let stored = try await gateway.gateway.store.browserSession(idHash: BrowserSessions.hash(String(cookie.dropFirst("portcullis_session=".count).prefix { $0 != ";" })))
            #expect(stored != nil, "the session is stored under the cookie's hash")

            let logout = try await browser.post(gateway.baseURL + "/auth/logout", form: [])
            #expect(logout.status == 303)
            #expect(try TestGateway.json(try await browser.get(gateway.baseURL + "/auth/session").body)["signedIn"] as? Bool == false)
        } }
    }

    @Test("sign-ins are bound to their browser, single-use, and return only to paths on the gateway")
    func signInAttacks() async throws {
        try await TestGateway.runDevelopment { gateway in try await TestBrowser.with { (attacker: TestBrowser) async throws in try await TestBrowser.with { (victim: TestBrowser) async throws in
            try await TestBrowser.with { (second: TestBrowser) async throws in
            // Login CSRF: the attacker's own code and state, delivered to a victim browser without the binding cookie.
            let login = try await attacker.get(gateway.baseURL + "/auth/login?issuer=dev")
            let page = try await attacker.get(try #require(login.location))
            let (action, fields) = try TestBrowser.form(in: page.body, forUser: "alice")
            let callbackURL = try #require(try await attacker.post(gateway.baseURL + action, form: fields).location)
            let forced = try await victim.get(callbackURL)
            #expect(forced.status == 400, "a callback without the browser's binding cookie is refused")
            #expect(!forced.headers["Set-Cookie"].contains { $0.hasPrefix("portcullis_session=") })
            let replay = try await attacker.get(callbackURL)
            #expect(replay.status == 400, "the state was used up by the refused attempt")

            // A code cannot be redeemed twice at the provider.
            let secondLogin = try await second.get(gateway.baseURL + "/auth/login?issuer=dev")
            let authorize = try #require(secondLogin.location)
            let secondPage = try await second.get(authorize)
            let chosen = try TestBrowser.form(in: secondPage.body, forUser: "carol")
            let code = try #require(try await second.post(gateway.baseURL + chosen.action, form: chosen.fields).location?.slice(from: "code=", to: "&"))
            #expect(try await second.get(gateway.baseURL + "/auth/callback?code=\(code)&state=" + (authorize.slice(from: "state=", to: "&") ?? "")).status == 302)
            let reuse = try await second.post(
                "http://127.0.0.1:\(gateway.port)/dev-idp/token",
                form: [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", gateway.baseURL + "/auth/callback"),
                    ("client_id", "portcullis-dev"), ("client_secret", "test-client-secret-0123456789abcdefghij")]
            )
            #expect(reuse.status == 400 && reuse.body.contains("invalid_grant"))

            for target in ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"] {
                let refused = try await victim.get(gateway.baseURL + "/auth/login?issuer=dev&return_to=\(PercentEncoding.encodeSegment(target))")
                #expect(refused.status == 400, "return_to \(target)")
            }
            #expect(try await victim.get(gateway.baseURL + "/auth/login?issuer=nobody").status == 400)
            }
        } } }
    }

    @Test("the development provider: exact redirect URIs, PKCE for public clients, S256 only, rotating refresh tokens")
    func developmentProviderRules() async throws {
        try await TestGateway.runDevelopment { gateway in try await TestBrowser.with { (browser: TestBrowser) async throws in
            let base = "http://127.0.0.1:\(gateway.port)/dev-idp"
            let unregistered = try await browser.get(base + "/authorize?response_type=code&client_id=portcullis-dev&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&state=s")
            #expect(unregistered.status == 400, "never redirects to an unregistered URI")
            let noPKCE = try await browser.get(base + "/authorize?response_type=code&client_id=portcullis-cli&redirect_uri=http%3A%2F%2F127.0.0.1%3A5555%2Fcallback&state=s")
            #expect(noPKCE.status == 302 && noPKCE.location?.contains("error=invalid_request") == true)
            let plain = try await browser.get(base + "/authorize?response_type=code&client_id=portcullis-cli&redirect_uri=http%3A%2F%2F127.0.0.1%3A5555%2Fcallback&code_challenge=abc&code_challenge_method=plain")
            #expect(plain.location?.contains("error=invalid_request") == true)

            // The CLI's code flow: a wrong verifier is refused, the right one gives tokens.
            let pkce = PKCE()
            let redirect = "http://127.0.0.1:5555/callback"
            let client = OAuthClient(clientId: "portcullis-cli", clientSecret: nil)
            let authorizeURL = client.authorizationURL(endpoint: base + "/authorize", redirectURI: redirect, scopes: ["openid", "agents:invoke"], state: "s1", nonce: "n1", pkce: pkce)
            func code() async throws -> String {
                let page = try await browser.get(authorizeURL)
                let form = try TestBrowser.form(in: page.body, forUser: "alice")
                return try #require(try await browser.post(gateway.baseURL + form.action, form: form.fields).location?.slice(from: "code=", to: "&"))
            }
            await #expect(throws: OAuthError.self) {
                try await client.exchange(code: try await code(), redirectURI: redirect, pkce: PKCE(), tokenEndpoint: base + "/token")
            }
            let tokens = try await client.exchange(code: try await code(), redirectURI: redirect, pkce: pkce, tokenEndpoint: base + "/token")
            let refreshToken = try #require(tokens.refreshToken)
            let refreshed = try await client.refresh(refreshToken, tokenEndpoint: base + "/token")
            #expect(refreshed.accessToken != tokens.accessToken)
            await #expect(throws: OAuthError.self, "a refresh token works once") {
                try await client.refresh(refreshToken, tokenEndpoint: base + "/token")
            }
            // Its access token is accepted by the gateway for a JWT runtime; its ID token is not an access token.
            let principal = try await gateway.gateway.jwtAuthenticator.authenticate(.bearerToken(refreshed.accessToken))
            #expect(principal.subject == "alice" && principal.clientId == "portcullis-cli" && principal.scopes == ["openid", "agents:invoke"])
            await #expect(throws: AuthenticationError.self) {
                try await gateway.gateway.jwtAuthenticator.authenticate(.bearerToken(try #require(tokens.idToken)))
            }
        } }
    }

    @Test("an ID token must carry this sign-in's nonce and audience")
    func idTokenChecks() async throws {
        try await TestGateway.runDevelopment { gateway in
            let provider = try #require(gateway.gateway.developmentProvider)
            let verifier = IDTokenVerifier(registry: gateway.gateway.issuers)
            let alice = try #require(DevelopmentIdentityProvider.user("alice"))
            let good = try provider.idToken(for: alice, clientId: "portcullis-dev", nonce: "n-1")
            let principal = try await verifier.verify(good, issuerName: "dev", clientId: "portcullis-dev", nonce: "n-1")
            #expect(principal.subject == "alice" && principal.groups == ["agents-users"])
            await #expect(throws: AuthenticationError.self, "another sign-in's nonce") {
                try await verifier.verify(good, issuerName: "dev", clientId: "portcullis-dev", nonce: "n-2")
            }
            await #expect(throws: AuthenticationError.self, "another client's token") {
                try await verifier.verify(try provider.idToken(for: alice, clientId: "portcullis-cli", nonce: "n-1"), issuerName: "dev", clientId: "portcullis-dev", nonce: "n-1")
            }
            await #expect(throws: AuthenticationError.self, "no nonce") {
                try await verifier.verify(try provider.idToken(for: alice, clientId: "portcullis-dev", nonce: nil), issuerName: "dev", clientId: "portcullis-dev", nonce: "n-1")
            }
        }
    }

    @Test("outside dev mode there is no development identity provider")
    func notOutsideDevMode() async throws {
        try await TestGateway.run { gateway in try await TestBrowser.with { (browser: TestBrowser) async throws in
            #expect(try await browser.get(gateway.baseURL + "/dev-idp/.well-known/openid-configuration").status == 404)
            #expect(try await browser.post(gateway.baseURL + "/dev-idp/token", form: [("grant_type", "client_credentials")]).status == 404)
            #expect(try TestGateway.json(try await browser.get(gateway.baseURL + "/auth/issuers").body)["issuers"] as? [Any] != nil)
        } }
        let configuration = try ConfigurationFile.parse("auth: {}\n")
        #expect(configuration.development == nil, "no configuration file can turn it on")
    }
}
