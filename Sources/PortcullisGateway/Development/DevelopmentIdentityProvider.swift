import Crypto
import Foundation
import PortcullisCore
import PortcullisIdentity
import Synchronization

/// `portcullis dev`'s identity provider: a small OpenID Connect provider with three made-up users, served on the
/// gateway's own listener under `/dev-idp`, so sign-in, JWT runtimes and `portcullis login` work without an IdP.
///
/// It implements what the gateway's clients use — the authorization code flow with PKCE, the device authorization
/// grant, refresh tokens and client credentials — with the usual rules (single-use short-lived codes, exact
/// redirect URIs, S256 only), but it signs anyone in who clicks a name: it exists only in dev mode.
final class DevelopmentIdentityProvider: Sendable {
    struct User: Sendable {
        var id: String
        var name: String
        var groups: [String]
        var email: String { "\(id)@example.com" }
    }

    static let users = [
        User(id: "alice", name: "Alice Example", groups: ["agents-users"]),
        User(id: "bob", name: "Bob Example", groups: ["agents-users", "platform-admins"]),
        User(id: "carol", name: "Carol Example", groups: []),
    ]
    static let supportedScopes: Set<String> = ["openid", "profile", "email", "offline_access", "agents:invoke", "agents:admin"]
    static let accessTokenLifetime: Double = 3600

    struct AuthorizationCode: Sendable {
        var clientId: String
        var redirectURI: String
        var codeChallenge: String?
        var nonce: String?
        var scopes: [String]
        var user: User
        var expiresAt: Date
    }

    struct DeviceGrant: Sendable {
        var clientId: String
        var userCode: String
        var scopes: [String]
        var user: User?
        var expiresAt: Date
        var lastPoll: Date?
    }

    struct RefreshGrant: Sendable {
        var clientId: String
        var scopes: [String]
        var user: User
    }

    private struct State {
        var codes: [String: AuthorizationCode] = [:]
        var devices: [String: DeviceGrant] = [:]
        var refreshTokens: [[UInt8]: RefreshGrant] = [:]
    }

    let settings: DevelopmentSettings
    let key: SigningKey
    let clock: any WallClock
    private let state = Mutex(State())

    /// The gateway's own URL (the issuer without `/dev-idp`).
    var gatewayURL: String { String(settings.issuer.dropLast(DevelopmentSettings.path.count)) }
    var metadata: IssuerMetadata {
        IssuerMetadata(
            issuer: settings.issuer,
            jwksURI: settings.issuer + "/jwks.json",
            authorizationEndpoint: settings.issuer + "/authorize",
            tokenEndpoint: settings.issuer + "/token",
            deviceAuthorizationEndpoint: settings.issuer + "/device_authorization",
            codeChallengeMethods: ["S256"]
        )
    }

    /// Loads the signing key from `settings.keyFile`, creating it (0600) on first start.
    init(settings: DevelopmentSettings, clock: any WallClock) throws {
        self.settings = settings
        self.clock = clock
        let fileManager = FileManager.default
        if let data = fileManager.contents(atPath: settings.keyFile), let pem = String(data: data, encoding: .utf8) {
            self.key = try SigningKey(rsaPEM: pem, keyId: Self.keyId(pem))
        } else {
            let generated = try SigningKey.generateRSA(keyId: "pending")
            guard let pem = generated.pemRepresentation,
                fileManager.createFile(atPath: settings.keyFile, contents: Data(pem.utf8), attributes: [.posixPermissions: 0o600])
            else {
                throw ConfigurationError("dev: cannot write the development identity provider's key to \(settings.keyFile)")
            }
            self.key = try SigningKey(rsaPEM: pem, keyId: Self.keyId(pem))
        }
    }

    /// A stable key id: the first 16 hex digits of the SHA-256 of the key file.
    private static func keyId(_ pem: String) -> String {
        "dev-" + Hex.encode(SHA256.hash(data: Array(pem.utf8)).prefix(8))
    }

    static func user(_ id: String) -> User? {
        users.first { $0.id == id }
    }

    // MARK: - Clients

    /// Whether `redirectURI` is registered for `clientId`: the gateway's callback for the web client, any loopback
    /// port for the CLI (RFC 8252 §7.3).
    func isRegistered(clientId: String, redirectURI: String) -> Bool {
        switch clientId {
        case DevelopmentSettings.webClientId:
            return redirectURI == gatewayURL + "/auth/callback"
        case DevelopmentSettings.cliClientId:
            guard let components = URLComponents(string: redirectURI), components.scheme == "http", components.port != nil,
                components.host == "127.0.0.1" || components.host == "localhost", components.query == nil
            else { return false }
            return true
        default:
            return false
        }
    }

    /// Client authentication at the token endpoint: the web client's secret (Basic or form), or the public CLI
    /// client by id alone.
    func authenticateClient(basic: (String, String)?, formId: String?, formSecret: String?) -> String? {
        let id = basic?.0 ?? formId
        let secret = basic?.1 ?? formSecret
        switch id {
        case DevelopmentSettings.webClientId?:
            guard let secret, ConstantTime.equals(Array(secret.utf8), Array(settings.webClientSecret.utf8)) else { return nil }
            return id
        case DevelopmentSettings.cliClientId?:
            return secret == nil ? id : nil
        default:
            return nil
        }
    }

    // MARK: - Grants

    func issueCode(_ code: AuthorizationCode) -> String {
        let value = PKCE.randomToken()
        state.withLock { state in
            let now = clock.now()
            state.codes = state.codes.filter { $0.value.expiresAt > now }
            if state.codes.count < 10_000 { state.codes[value] = code }
        }
        return value
    }

    /// Takes a code: once, and only before it expires.
    func redeemCode(_ value: String) -> AuthorizationCode? {
        let code = state.withLock { $0.codes.removeValue(forKey: value) }
        guard let code, code.expiresAt > clock.now() else { return nil }
        return code
    }

    func startDevice(clientId: String, scopes: [String]) -> (deviceCode: String, userCode: String) {
        let deviceCode = PKCE.randomToken()
        let alphabet = Array("BCDFGHJKLMNPQRSTVWXZ")
        var generator = SystemRandomNumberGenerator()
        let letters = (0..<8).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] }
        let userCode = String(letters[0..<4]) + "-" + String(letters[4...])
        state.withLock { state in
            let now = clock.now()
            state.devices = state.devices.filter { $0.value.expiresAt > now }
            state.devices[deviceCode] = DeviceGrant(clientId: clientId, userCode: userCode, scopes: scopes, expiresAt: now.addingTimeInterval(600))
        }
        return (deviceCode, userCode)
    }

    /// Marks the device grant with `userCode` as approved by `user`.
    func approveDevice(userCode: String, user: User) -> Bool {
        let normalized = userCode.uppercased().filter { $0 != " " }
        return state.withLock { state in
            guard let entry = state.devices.first(where: { $0.value.userCode == normalized && $0.value.expiresAt > clock.now() }) else {
                return false
            }
            state.devices[entry.key]?.user = user
            return true
        }
    }

    enum DevicePoll {
        case approved(DeviceGrant)
        case pending
        case slowDown
        case expired
    }

    func pollDevice(_ deviceCode: String, clientId: String) -> DevicePoll {
        let now = clock.now()
        return state.withLock { state in
            guard let grant = state.devices[deviceCode], grant.clientId == clientId, grant.expiresAt > now else { return .expired }
            if grant.user != nil {
                state.devices.removeValue(forKey: deviceCode)
                return .approved(grant)
            }
            // Polling faster than the announced interval (1 s, half of it tolerated) is told to slow down.
            state.devices[deviceCode]?.lastPoll = now
            if let last = grant.lastPoll, now.timeIntervalSince(last) < 0.5 { return .slowDown }
            return .pending
        }
    }

    func issueRefreshToken(_ grant: RefreshGrant) -> String {
        let value = PKCE.randomToken()
        state.withLock { $0.refreshTokens[Array(SHA256.hash(data: Array(value.utf8)))] = grant }
        return value
    }

    /// Takes a refresh token, which is rotated: the old one stops working.
    func redeemRefreshToken(_ value: String, clientId: String) -> RefreshGrant? {
        let hash = Array(SHA256.hash(data: Array(value.utf8)))
        return state.withLock { state in
            guard let grant = state.refreshTokens[hash], grant.clientId == clientId else { return nil }
            state.refreshTokens.removeValue(forKey: hash)
            return grant
        }
    }

    // MARK: - Tokens

    /// An access token for `user` (or, with none, for the client itself).
    func accessToken(for user: User?, clientId: String, scopes: [String], lifetime: Double = accessTokenLifetime) throws -> String {
        let now = clock.now().timeIntervalSince1970.rounded(.down)
        var claims: [String: JSONValue] = [
            "iss": .string(settings.issuer), "aud": .string(DevelopmentSettings.audience), "client_id": .string(clientId),
            "scope": .string(scopes.joined(separator: " ")), "iat": .number(now), "exp": .number(now + lifetime),
            "jti": .string(PKCE.randomToken()),
        ]
        if let user {
            claims["sub"] = .string(user.id)
            claims["groups"] = .array(user.groups.map(JSONValue.string))
            claims["email"] = .string(user.email)
            claims["name"] = .string(user.name)
            claims["preferred_username"] = .string(user.id)
        } else {
            claims["sub"] = .string(clientId)
        }
        return try key.sign(claims: claims, header: ["typ": .string("at+jwt")])
    }

    func idToken(for user: User, clientId: String, nonce: String?) throws -> String {
        let now = clock.now().timeIntervalSince1970.rounded(.down)
        var claims: [String: JSONValue] = [
            "iss": .string(settings.issuer), "sub": .string(user.id), "aud": .string(clientId), "iat": .number(now),
            "exp": .number(now + Self.accessTokenLifetime), "auth_time": .number(now), "email": .string(user.email),
            "name": .string(user.name), "preferred_username": .string(user.id), "groups": .array(user.groups.map(JSONValue.string)),
        ]
        if let nonce { claims["nonce"] = .string(nonce) }
        return try key.sign(claims: claims, header: ["typ": .string("JWT")])
    }

    /// The token endpoint's JSON for a user grant.
    func tokenResponse(user: User, clientId: String, scopes: [String], nonce: String?) throws -> JSONValue {
        var members: [String: JSONValue] = [
            "access_token": .string(try accessToken(for: user, clientId: clientId, scopes: scopes)),
            "token_type": .string("Bearer"), "expires_in": .number(Self.accessTokenLifetime),
            "scope": .string(scopes.joined(separator: " ")),
            "refresh_token": .string(issueRefreshToken(RefreshGrant(clientId: clientId, scopes: scopes, user: user))),
        ]
        if scopes.contains("openid") {
            members["id_token"] = .string(try idToken(for: user, clientId: clientId, nonce: nonce))
        }
        return .object(members)
    }
}
