public import Foundation
import Logging
public import PortcullisCore
import Synchronization

/// One identity provider the gateway trusts: its configuration and profile, the metadata its discovery document
/// gives, and its current signing keys.
///
/// Keys are fetched at start-up, refreshed in the background, and refetched when a token names an unknown `kid` —
/// at most once per cooldown, with concurrent misses sharing one fetch. A failed fetch never drops keys already
/// known, so tokens keep verifying while the provider is down.
public final class TrustedIssuer: Sendable {
    /// Where the gateway learned of the issuer.
    public enum Origin: String, Sendable {
        /// Listed in `auth.issuers`.
        case configured
        /// Named only by a runtime's `customJWTAuthorizer.discoveryUrl`; trusted for those runtimes alone.
        case runtimeAuthorizer = "runtime_authorizer"
    }

    /// A snapshot for readiness, metrics and the CLI.
    public struct Status: Sendable {
        public var name: String
        public var issuer: String?
        public var keyIds: [String]
        public var lastSuccess: Date?
        public var lastFailure: String?
        public var keySetFetches: Int
    }

    private struct State {
        var metadata: IssuerMetadata?
        var keys: [String: VerificationKey] = [:]
        var schedule: KeySetRefreshSchedule
        var refreshing = false
        var waiters: [CheckedContinuation<Void, Never>] = []
        var lastSuccess: Date?
        var lastFailure: String?
        var keySetFetches = 0
    }

    private struct Fetched {
        var metadata: IssuerMetadata
        var keys: JSONWebKeySet
        var maxAge: Int?
    }

    public let configuration: IssuerConfiguration
    public let origin: Origin
    let profile: any IssuerProfile
    let claimNames: ClaimNames
    private let keyPolicy: KeyPolicy
    private let http: IdentityHTTPClient
    private let clock: any WallClock
    private let allowInsecureURLs: Bool
    private let metrics: GatewayMetrics
    private let logger: Logger
    private let state: Mutex<State>

    init(
        configuration: IssuerConfiguration,
        origin: Origin,
        http: IdentityHTTPClient,
        clock: any WallClock,
        allowInsecureURLs: Bool,
        metrics: GatewayMetrics,
        logger: Logger
    ) {
        self.metrics = metrics
        self.configuration = configuration
        self.origin = origin
        let profile = configuration.profile.profile
        self.profile = profile
        self.claimNames = profile.defaultClaims.overridden(by: configuration.claims)
        self.keyPolicy = KeyPolicy(algorithms: configuration.algorithms)
        self.http = http
        self.clock = clock
        self.allowInsecureURLs = allowInsecureURLs
        self.logger = logger
        self.state = Mutex(State(schedule: KeySetRefreshSchedule(configuration: configuration.keySet)))
    }

    public var name: String { configuration.name }

    /// The discovery document's contents once fetched.
    public var metadata: IssuerMetadata? { state.withLock { $0.metadata } }

    /// The `iss` its tokens carry: from discovery, or the configured value before discovery has answered.
    var metadataIssuer: String? { state.withLock { $0.metadata?.issuer } ?? configuration.issuer }

    public var status: Status {
        state.withLock { state in
            Status(
                name: configuration.name,
                issuer: state.metadata?.issuer ?? configuration.issuer,
                keyIds: state.keys.keys.sorted(),
                lastSuccess: state.lastSuccess,
                lastFailure: state.lastFailure,
                keySetFetches: state.keySetFetches
            )
        }
    }

    /// Whether a key with this id is currently trusted (a cached verification stays good only while it is).
    func hasKey(_ keyId: String) -> Bool {
        state.withLock { $0.keys[keyId] != nil }
    }

    /// The key with `keyId`, refetching the key set once per cooldown when it is not known.
    func key(for keyId: String) async -> VerificationKey? {
        let now = clock.now()
        let (known, mayFetch): (VerificationKey?, Bool) = state.withLock { state in
            if let key = state.keys[keyId] { return (key, false) }
            // A fetch already under way is joined rather than counted against the cooldown.
            return (nil, state.refreshing || state.schedule.admitUnknownKeyFetch(at: now))
        }
        if let known {
            metrics.increment(.signingKeyLookups, "hit")
            return known
        }
        guard mayFetch else {
            metrics.increment(.signingKeyLookups, "unknown")
            return nil
        }
        await refresh()
        let fetched = state.withLock { $0.keys[keyId] }
        metrics.increment(.signingKeyLookups, fetched == nil ? "unknown" : "miss")
        return fetched
    }

    /// Lets a token from a provider whose discovery has not answered yet trigger one attempt per cooldown.
    func resolveMetadataIfMissing() async {
        let now = clock.now()
        let shouldFetch = state.withLock { state in
            state.metadata == nil && (state.refreshing || state.schedule.admitUnknownKeyFetch(at: now))
        }
        if shouldFetch { await refresh() }
    }

    /// Whether the background refresh is due, and when it will be.
    var nextRefresh: Date? { state.withLock { $0.schedule.nextRefresh } }

    func isRefreshDue(at now: Date) -> Bool { state.withLock { $0.schedule.isDue(at: now) } }

    /// Installs metadata and keys known in-process (the development identity provider's) as if they had been
    /// fetched; background refreshes then keep them current from the key set URL.
    public func preload(metadata: IssuerMetadata, keys: [VerificationKey]) {
        let now = clock.now()
        state.withLock { state in
            state.metadata = metadata
            state.keys = Dictionary(keys.map { ($0.keyId, $0) }) { first, _ in first }
            state.schedule.fetched(at: now, maxAge: nil)
            state.lastSuccess = now
        }
    }

    /// Fetches metadata and keys now, or waits for the fetch already in progress.
    public func refresh() async {
        let leads = state.withLock { state in
            if state.refreshing { return false }
            state.refreshing = true
            return true
        }
        guard leads else {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let finished = state.withLock { state in
                    if state.refreshing { state.waiters.append(continuation) }
                    return !state.refreshing
                }
                if finished { continuation.resume() }
            }
            return
        }
        let outcome = await fetch()
        if case .success = outcome {
            metrics.increment(.jwksFetches, configuration.name, "success")
        } else {
            metrics.increment(.jwksFetches, configuration.name, "failure")
        }
        let now = clock.now()
        let waiters = state.withLock { state in
            state.keySetFetches += 1
            switch outcome {
            case .success(let fetched):
                state.metadata = fetched.metadata
                state.keys = fetched.keys.keys
                state.schedule.fetched(at: now, maxAge: fetched.maxAge)
                state.lastSuccess = now
                state.lastFailure = nil
            case .failure(let failure):
                state.schedule.failed(at: now)
                state.lastFailure = failure.description
            }
            state.refreshing = false
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        switch outcome {
        case .success(let fetched):
            for rejection in fetched.keys.rejected {
                logger.warning(
                    "skipped a key of the issuer's key set",
                    metadata: ["issuer": "\(configuration.name)", "kid": "\(rejection.keyId ?? "-")", "reason": "\(rejection.reason)"]
                )
            }
            logger.debug("issuer keys fetched", metadata: ["issuer": "\(configuration.name)", "keys": "\(fetched.keys.keys.count)"])
        case .failure(let failure):
            logger.warning(
                "could not refresh the issuer's keys; known keys stay in use",
                metadata: ["issuer": "\(configuration.name)", "error": "\(failure.description)"]
            )
        }
        for waiter in waiters { waiter.resume() }
    }

    private func fetch() async -> Result<Fetched, IdentityHTTPClient.Failure> {
        let keySet = configuration.keySet
        let timeout = Duration.seconds(keySet.fetchTimeoutSeconds)
        do throws(IdentityHTTPClient.Failure) {
            let metadata: IssuerMetadata
            if let discoveryURL = configuration.discoveryURL {
                let response = try await http.get(discoveryURL, timeout: timeout, maxBytes: 256 * 1024)
                guard response.status == 200 else {
                    throw IdentityHTTPClient.Failure(description: "the discovery document answered HTTP \(response.status)")
                }
                metadata = try IssuerMetadata(document: response.body, allowInsecureURLs: allowInsecureURLs)
                if let expected = configuration.issuer, expected != metadata.issuer {
                    throw IdentityHTTPClient.Failure(
                        description: "the discovery document names issuer \(metadata.issuer), the configuration \(expected)"
                    )
                }
            } else {
                metadata = IssuerMetadata(issuer: configuration.issuer ?? "", jwksURI: configuration.jwksURI)
            }
            guard var keySetURL = configuration.jwksURI ?? metadata.jwksURI else {
                throw IdentityHTTPClient.Failure(description: "neither the configuration nor the discovery document names a jwks_uri")
            }
            if let appId = configuration.appId {
                keySetURL += (keySetURL.contains("?") ? "&" : "?") + "appid=" + PercentEncoding.encodeSegment(appId)
            }
            let response = try await http.get(keySetURL, timeout: timeout, maxBytes: keySet.maxBytes)
            guard response.status == 200 else {
                throw IdentityHTTPClient.Failure(description: "the key set answered HTTP \(response.status)")
            }
            let keys: JSONWebKeySet
            do {
                keys = try JSONWebKeySet(json: response.body, policy: keyPolicy)
            } catch {
                throw IdentityHTTPClient.Failure(description: "the key set is unusable: \(error.detail)")
            }
            guard !keys.keys.isEmpty else {
                throw IdentityHTTPClient.Failure(description: "the key set holds no usable key (\(keys.rejected.count) skipped)")
            }
            return .success(Fetched(metadata: metadata, keys: keys, maxAge: response.maxAge))
        } catch {
            return .failure(error)
        }
    }

    // MARK: - Tokens

    /// The principal a verified token stands for.
    func principal(for claims: JWTClaims, canonicalIssuer: String) throws(AuthenticationError) -> Principal {
        guard let subject = claimNames.subject.lazy.compactMap({ claims.string($0) }).first(where: { !$0.isEmpty }) else {
            throw AuthenticationError(.malformedToken, "no subject claim (\(claimNames.subject.joined(separator: ", ")))")
        }
        let groups = claims.stringList(claimNames.groups)
        var scopes: [String] = []
        for name in claimNames.scopes {
            for scope in claims.stringList(name) where !scopes.contains(scope) { scopes.append(scope) }
        }
        let clientId = profile.clientId(of: claims, names: claimNames)
        let displayName = claimNames.displayName.lazy.compactMap { claims.string($0) }.first ?? subject
        let isAdministrator = origin == .configured && (configuration.administrators?.admits(subject: subject, groups: groups) ?? false)
        return Principal(
            method: .jwt,
            id: "\(canonicalIssuer)|\(subject)",
            displayName: displayName,
            issuer: canonicalIssuer,
            issuerName: configuration.name,
            subject: subject,
            tenant: claimNames.tenant.flatMap { claims.string($0) },
            clientId: clientId,
            groups: groups,
            groupsIncomplete: profile.groupsIncomplete(claims),
            scopes: scopes,
            audiences: claims.audiences,
            agentScope: .all,
            isAdministrator: isAdministrator,
            claims: claims.members
        )
    }

    /// The issuer-wide audience and client rules (runtimes add their own).
    func checkAudience(_ claims: JWTClaims, clientId: String?) throws(AuthenticationError) {
        if !configuration.audiences.isEmpty, !claims.audiences.contains(where: configuration.audiences.contains) {
            throw AuthenticationError(.wrongAudience, "aud is not among the issuer's audiences")
        }
        if !configuration.clientIds.isEmpty, !(clientId.map(configuration.clientIds.contains) ?? false) {
            throw AuthenticationError(.wrongClient, "the client is not among the issuer's clientIds")
        }
    }

    /// The `typ` rule: `at+jwt` also matches `application/at+jwt` (RFC 7515 §4.1.9).
    func checkType(_ header: JOSEHeader) throws(AuthenticationError) {
        guard let required = configuration.requiredTokenType?.lowercased() else { return }
        var type = header.type?.lowercased() ?? ""
        if type.hasPrefix("application/") { type.removeFirst("application/".count) }
        guard type == required else {
            throw AuthenticationError(.wrongTokenType, "typ is '\(header.type ?? "")', not \(required)")
        }
    }
}
