import Crypto
public import Foundation
public import Logging
public import PortcullisCore
public import PortcullisStore

/// The user-consent (3-legged) flow, step by step: a session when an agent needs a user's token, the redirect to
/// the vendor when the user opens the authorization URL, the callback, and the binding to the user the agent asked
/// for. Every step is a compare-and-set on the session's state, so a `state` is consumed and a code exchanged
/// exactly once, however often a browser retries.
public struct ConsentFlow: Sendable {
    /// How long an authorization URL stays good.
    public static let lifetimeSeconds: TimeInterval = 600
    /// How long a session may stay `exchanging`: well beyond the vendor call's own timeout. A gateway that dies
    /// while exchanging the code leaves the session there; it then expires this soon, so the agent's poll ends with
    /// an answer instead of waiting out the whole session.
    public static let exchangeSeconds: TimeInterval = 60
    static let maxStateLength = 512
    static let maxCodeLength = 4096

    let store: any VaultTokenStore
    let tokens: OAuth2Tokens
    let keyRing: KeyRing
    let client: VendorTokenClient
    let clock: any WallClock
    let logger: Logger

    public init(store: any VaultTokenStore, tokens: OAuth2Tokens, keyRing: KeyRing, client: VendorTokenClient = VendorTokenClient(), clock: any WallClock, logger: Logger) {
        self.store = store
        self.tokens = tokens
        self.keyRing = keyRing
        self.client = client
        self.clock = clock
        self.logger = logger
    }

    /// Opens a consent session for an agent's request.
    public func start(providerId: String, workload: String, user: WorkloadUser, request: ConsentSession.Request) async throws(AgentCoreError) -> ConsentSession {
        let now = clock.now()
        let session = ConsentSession(
            id: SecureRandom.base32(32), providerId: providerId, workload: workload, userKey: user.key, request: request, createdAt: now,
            expiresAt: now.addingTimeInterval(Self.lifetimeSeconds)
        )
        try await tokens.storing { try await self.store.insertConsentSession(session) }
        return session
    }

    /// The session a `sessionUri` names, if it is well formed and exists.
    public func session(uri: String) async throws(AgentCoreError) -> ConsentSession? {
        guard uri.hasPrefix(ConsentSession.sessionURIPrefix), uri.utf8.count <= 1024 else { return nil }
        let id = String(uri.dropFirst(ConsentSession.sessionURIPrefix.count))
        guard !id.isEmpty, id.utf8.allSatisfy({ $0.isASCIILetterOrDigit }) else { return nil }
        return try await tokens.storing { try await self.store.consentSession(id: id) }
    }

    /// Where the browser goes next: the vendor's authorization endpoint, with a fresh single-use `state` and a
    /// cookie value the callback must bring back. The session must be live and not yet past its redirect.
    public struct Redirect: Sendable {
        public var url: String
        /// For the browser cookie; only its hash is stored.
        public var browserNonce: String
    }

    public func redirect(_ session: ConsentSession, client: OAuth2Tokens.Client, callbackURL: String) async throws(AgentCoreError) -> Redirect {
        guard session.expiresAt > clock.now() else { throw AgentCoreError(.validation, "This authorization link has expired; ask the agent again") }
        guard session.status == .created || session.status == .redirected else {
            throw AgentCoreError(.validation, "This authorization link was already used")
        }
        let state = Base64URL.encode(SecureRandom.bytes(32))
        let nonce = Base64URL.encode(SecureRandom.bytes(32))
        var updated = session
        updated.status = .redirected
        updated.stateHash = OAuth2Tokens.hash(state)
        updated.browserNonceHash = OAuth2Tokens.hash(nonce)
        var parameters: [(String, String)] = [
            ("response_type", "code"), ("client_id", client.registration.clientId), ("redirect_uri", callbackURL), ("state", state),
        ]
        let scopes = client.profile.requiredScopes.filter { !session.request.scopes.contains($0) } + session.request.scopes
        if !scopes.isEmpty { parameters.append((client.profile.scopeParameter, scopes.joined(separator: client.profile.scopeSeparator))) }
        if client.profile.usesPKCE && client.registration.usesPKCE {
            let verifier = Base64URL.encode(SecureRandom.bytes(32))
            updated.sealedVerifier = try tokens.seal(verifier, context: ConsentSession.verifierContext(id: session.id))
            parameters += [("code_challenge", Base64URL.encode(Array(SHA256.hash(data: Array(verifier.utf8))))), ("code_challenge_method", "S256")]
        } else {
            updated.sealedVerifier = nil
        }
        for (name, value) in client.profile.extraAuthorizationParameters.sorted(by: { $0.key < $1.key }) { parameters.append((name, value)) }
        for resource in session.request.resources { parameters.append(("resource", resource)) }
        for audience in session.request.audiences { parameters.append(("audience", audience)) }
        // Validated when the session was made: none of them names a standard parameter.
        for (name, value) in session.request.customParameters.sorted(by: { $0.key < $1.key }) { parameters.append((name, value)) }
        let redirected = updated
        guard try await tokens.storing({ try await self.store.updateConsentSession(redirected, expected: session.status) }) else {
            throw AgentCoreError(.validation, "This authorization link was already used")
        }
        let endpoint = client.registration.authorizationEndpoint
        return Redirect(url: endpoint + (endpoint.contains("?") ? "&" : "?") + PercentEncoding.encodeForm(parameters), browserNonce: nonce)
    }

    /// What the callback found.
    public enum CallbackResult: Sendable {
        /// The token waits for CompleteResourceTokenAuth; send the browser to the return URL.
        case awaitingBinding(ConsentSession)
        /// The token is in the vault (the signed-in user was the user asked for, and there is no return URL).
        case completed(ConsentSession)
    }

    /// Why a callback was refused: what the browser is shown. Nothing is stored for it.
    public struct CallbackError: Error, Sendable, Equatable {
        public var status: Int
        public var message: String
    }

    /// The vendor's redirect back: checks the state (known, unused, unexpired, this provider's, this browser's),
    /// consumes it, exchanges the code once and keeps the token for the binding.
    /// - Parameter bindNow: whether the session may complete without CompleteResourceTokenAuth.
    public func callback(
        providerId: String, state: String?, code: String?, vendorError: String?, browserNonce: String?, client: OAuth2Tokens.Client, callbackURL: String,
        bindNow: @Sendable (ConsentSession) -> Bool
    ) async throws(CallbackError) -> CallbackResult {
        guard let state, !state.isEmpty, state.utf8.count <= Self.maxStateLength else { throw CallbackError(status: 400, message: "The callback has no valid state") }
        if let code, code.utf8.count > Self.maxCodeLength { throw CallbackError(status: 400, message: "The authorization code is too long") }
        let found: ConsentSession?
        do {
            found = try await store.consentSession(stateHash: OAuth2Tokens.hash(state))
        } catch {
            throw CallbackError(status: 503, message: "The token vault is unavailable; try again")
        }
        guard let session = found else { throw CallbackError(status: 400, message: "This sign-in is unknown or was already used") }
        // A state minted for another provider arriving here is a mix-up attack, not a retry.
        guard session.providerId == providerId else { throw CallbackError(status: 400, message: "This sign-in belongs to another provider") }
        guard session.expiresAt > clock.now() else { throw CallbackError(status: 400, message: "This sign-in has expired; ask the agent again") }
        guard session.status == .redirected else { throw CallbackError(status: 400, message: "This sign-in was already used") }
        guard let browserNonce, let expected = session.browserNonceHash, ConstantTime.equals(Array(OAuth2Tokens.hash(browserNonce).utf8), Array(expected.utf8)) else {
            throw CallbackError(status: 400, message: "This sign-in was started in another browser")
        }
        // The client secret first: a vault that cannot open it must not burn the user's sign-in.
        let secret: String
        do throws(AgentCoreError) {
            secret = try client.secret()
        } catch {
            throw CallbackError(status: 500, message: "The sign-in cannot be completed")
        }
        var consuming = session
        consuming.status = .exchanging
        consuming.stateHash = nil
        consuming.expiresAt = min(session.expiresAt, clock.now().addingTimeInterval(Self.exchangeSeconds))
        guard (try? await store.updateConsentSession(consuming, expected: .redirected)) == true else {
            throw CallbackError(status: 400, message: "This sign-in was already used")
        }
        if let vendorError {
            await fail(consuming, "vendor:" + String(vendorError.prefix(64)))
            throw CallbackError(status: 400, message: "Access was not granted (\(String(vendorError.prefix(64).filter { $0.isLetter || $0.isNumber || $0 == "_" })))")
        }
        guard let code, !code.isEmpty else {
            await fail(consuming, "no_code")
            throw CallbackError(status: 400, message: "The callback has no authorization code")
        }
        let verifier: String?
        do throws(AgentCoreError) {
            verifier = try session.sealedVerifier.map { sealed throws(AgentCoreError) in try tokens.open(sealed, context: ConsentSession.verifierContext(id: session.id)) }
        } catch {
            await fail(consuming, "verifier")
            throw CallbackError(status: 500, message: "The sign-in cannot be completed")
        }
        let response: VendorTokenResponse
        switch await tokens.vendorAnswer(client.profile, { () async throws(VendorTokenError) in
            try await self.client.exchange(
                code: code, verifier: verifier, redirectURI: callbackURL, registration: client.registration, secret: secret, profile: client.profile
            )
        }) {
        case .success(let answer):
            response = answer
        case .failure(let error):
            logger.warning("a consent's code exchange failed", metadata: ["provider": "\(client.providerName)", "reason": "\(error.code)"])
            await fail(consuming, "exchange:" + error.code)
            throw CallbackError(status: 502, message: "\(client.providerName) did not issue a token (\(error.code))")
        }
        await tokens.faults.reach(.afterCodeExchange)
        let missing = client.profile.missingScopes(requested: session.request.scopes, granted: response.scope)
        guard missing.isEmpty else {
            // A token without what the agent asked for would fail at the vendor's API later, less clearly.
            logger.warning("a consent granted fewer scopes than asked", metadata: ["provider": "\(client.providerName)", "missing": "\(missing)"])
            await fail(consuming, "insufficient_scope")
            throw CallbackError(status: 403, message: "Access was granted without all the permissions the agent asked for (missing: \(missing.joined(separator: ", "))). Ask the agent again and approve them all.")
        }
        guard let user = WorkloadUser(key: session.userKey) else {
            await fail(consuming, "user")
            throw CallbackError(status: 500, message: "The sign-in cannot be completed")
        }
        if bindNow(session) {
            do throws(AgentCoreError) {
                try await tokens.storeConsented(response, client: client, workload: session.workload, user: user, scopes: session.request.scopes)
            } catch {
                await fail(consuming, "store")
                throw CallbackError(status: 503, message: "The token vault is unavailable; ask the agent again")
            }
            var completed = consuming
            completed.status = .completed
            completed.expiresAt = session.expiresAt
            _ = try? await store.updateConsentSession(completed, expected: .exchanging)
            return .completed(completed)
        }
        var waiting = consuming
        waiting.status = .awaitingBinding
        // The exchange is over: the user has the rest of the session's life to be confirmed.
        waiting.expiresAt = session.expiresAt
        do {
            waiting.sealedPendingToken = try keyRing.seal(Array(Self.pending(response).serialized()), context: ConsentSession.pendingContext(id: session.id))
            guard try await store.updateConsentSession(waiting, expected: .exchanging) else { throw CallbackError(status: 400, message: "This sign-in was already used") }
        } catch let error as CallbackError {
            throw error
        } catch {
            await fail(consuming, "store")
            throw CallbackError(status: 503, message: "The token vault is unavailable; ask the agent again")
        }
        return .awaitingBinding(waiting)
    }

    /// CompleteResourceTokenAuth: releases the held token into the vault if `user` is the user the agent asked for.
    /// A mismatch ends the session (a forwarded consent link must not hand one user's grant to another).
    public func complete(_ session: ConsentSession, user: WorkloadUser, client: OAuth2Tokens.Client) async throws(AgentCoreError) {
        guard session.expiresAt > clock.now(), session.status == .awaitingBinding, let sealed = session.sealedPendingToken else {
            throw AgentCoreError(.validation, "The session is not waiting for its user (it is \(session.status.rawValue), or it expired)")
        }
        guard user.key == session.userKey else {
            await fail(session, "user_mismatch", from: .awaitingBinding)
            throw AgentCoreError(.accessDenied, "The user who completed the sign-in is not the user the agent asked for")
        }
        let response: VendorTokenResponse
        do {
            response = try Self.pendingResponse(try keyRing.open(sealed, context: ConsentSession.pendingContext(id: session.id)))
        } catch {
            throw AgentCoreError(.internalServer, "The held token cannot be read")
        }
        try await tokens.storeConsented(response, client: client, workload: session.workload, user: user, scopes: session.request.scopes)
        var completed = session
        completed.status = .completed
        completed.sealedPendingToken = nil
        let bound = completed
        guard try await tokens.storing({ try await self.store.updateConsentSession(bound, expected: .awaitingBinding) }) else {
            throw AgentCoreError(.validation, "The session was completed already")
        }
    }

    private func fail(_ session: ConsentSession, _ reason: String, from expected: ConsentSession.Status = .exchanging) async {
        var failed = session
        failed.status = .failed
        failed.error = reason
        failed.sealedPendingToken = nil
        _ = try? await store.updateConsentSession(failed, expected: expected)
    }

    static func pending(_ response: VendorTokenResponse) -> JSONValue {
        var members: [String: JSONValue] = ["access_token": .string(response.accessToken)]
        if let refresh = response.refreshToken { members["refresh_token"] = .string(refresh) }
        if let expiresIn = response.expiresIn { members["expires_in"] = .number(Double(expiresIn)) }
        if let scope = response.scope { members["scope"] = .string(scope) }
        return .object(members)
    }

    static func pendingResponse(_ bytes: [UInt8]) throws -> VendorTokenResponse {
        let members = try StrictJSON.parseObject(bytes)
        guard let access = members["access_token"]?.stringValue else { throw StrictJSONError(offset: 0, reason: "no access token") }
        var expiresIn: Int?
        if case .number(let seconds)? = members["expires_in"] { expiresIn = Int(seconds) }
        return VendorTokenResponse(accessToken: access, refreshToken: members["refresh_token"]?.stringValue, expiresIn: expiresIn, scope: members["scope"]?.stringValue)
    }
}

extension UInt8 {
    fileprivate var isASCIILetterOrDigit: Bool {
        (self >= 0x30 && self <= 0x39) || (self >= 0x41 && self <= 0x5A) || (self >= 0x61 && self <= 0x7A)
    }
}
