import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PortcullisCore
import PortcullisIdentity
import Synchronization

/// A real OpenID Connect provider on a loopback port, as far as token validation sees one: a discovery document
/// and a JWKS whose keys, availability and cache headers a test changes while the gateway runs. It counts how
/// often each document is fetched, and signs tokens with its keys.
final class TestIdentityProvider: Sendable {
    struct State {
        var signingKeys: [SigningKey]
        /// Entries published in addition to the signing keys' public JWKs (malformed keys, encryption keys).
        var extraJWKs: [JSONValue] = []
        var isDown = false
        var cacheControl: String?
        var discoveryFetches = 0
        var keySetFetches = 0
        /// The query of the last key-set request (Entra apps with custom keys add `appid`).
        var lastKeySetQuery: String?
        /// The `iss` the discovery document names; the provider's own URL unless a test mimics a vendor.
        var issuer: String?
    }

    let state: Mutex<State>
    private let boundPort = Mutex(0)
    var port: Int { boundPort.withLock { $0 } }

    var baseURL: String { "http://127.0.0.1:\(port)" }
    var discoveryURL: String { baseURL + "/.well-known/openid-configuration" }
    var keySetURL: String { baseURL + "/jwks.json" }
    var issuer: String { state.withLock { $0.issuer } ?? baseURL }
    var keySetFetches: Int { state.withLock { $0.keySetFetches } }
    var discoveryFetches: Int { state.withLock { $0.discoveryFetches } }
    var signingKey: SigningKey { state.withLock { $0.signingKeys[0] } }

    private init(state: State) {
        self.state = Mutex(state)
    }

    /// Runs a provider with one RS256 key (`kid` "key-1") for the duration of `body`.
    static func run<T: Sendable>(issuer: String? = nil, _ body: (TestIdentityProvider) async throws -> T) async throws -> T {
        let provider = TestIdentityProvider(state: State(signingKeys: [try SigningKey.generateRSA(keyId: "key-1")], issuer: issuer))
        let router = Router()
        router.get("/.well-known/openid-configuration") { _, _ -> Response in
            let base = provider.baseURL
            let (down, issuer) = provider.state.withLock { state -> (Bool, String) in
                state.discoveryFetches += 1
                return (state.isDown, state.issuer ?? base)
            }
            if down { return Response(status: .serviceUnavailable) }
            let document: JSONValue = .object([
                "issuer": .string(issuer),
                "jwks_uri": .string(base + "/jwks.json"),
                "authorization_endpoint": .string(base + "/authorize"),
                "token_endpoint": .string(base + "/token"),
                "response_types_supported": .array([.string("code")]),
                "id_token_signing_alg_values_supported": .array([.string("RS256")]),
            ])
            return Self.json(document, cacheControl: nil)
        }
        router.get("/jwks.json") { request, _ -> Response in
            let (down, keys, cacheControl) = provider.state.withLock { state -> (Bool, [JSONValue], String?) in
                state.keySetFetches += 1
                state.lastKeySetQuery = request.uri.query
                return (state.isDown, state.signingKeys.map(\.publicJWK) + state.extraJWKs, state.cacheControl)
            }
            if down { return Response(status: .serviceUnavailable) }
            return Self.json(.object(["keys": .array(keys)]), cacheControl: cacheControl)
        }
        return try await withRunningApplication({ onRunning in
            Application(
                router: router,
                configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { channel in
                    provider.boundPort.withLock { $0 = channel.localAddress?.port ?? 0 }
                    await onRunning(channel)
                },
                logger: testLogger
            )
        }) { _ in
            try await body(provider)
        }
    }

    private static func json(_ value: JSONValue, cacheControl: String?) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let cacheControl { headers[.cacheControl] = cacheControl }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: value.serialized())))
    }

    /// Publishes `key` beside the current keys (a rotation's new key).
    func addKey(_ key: SigningKey) {
        state.withLock { $0.signingKeys.append(key) }
    }

    func setDown(_ down: Bool) {
        state.withLock { $0.isDown = down }
    }

    /// A token signed with `key` (the first key by default) with standard claims a test can override.
    func token(
        _ claims: [String: JSONValue] = [:],
        key: SigningKey? = nil,
        header: [String: JSONValue] = ["typ": .string("JWT")],
        lifetime: Double = 300,
        now date: Date = Date()
    ) throws -> String {
        let now = date.timeIntervalSince1970
        var all: [String: JSONValue] = [
            "iss": .string(issuer), "sub": .string("user-1"), "aud": .string("api://portcullis"),
            "iat": .number(now.rounded(.down)), "exp": .number((now + lifetime).rounded(.down)),
            "client_id": .string("client-1"), "scope": .string("agents:invoke profile"),
        ]
        for (name, value) in claims { all[name] = value }
        return try (key ?? signingKey).sign(claims: all.filter { $0.value != .null }, header: header)
    }
}
