import Crypto
public import Foundation
public import Logging
public import PortcullisCore
import Synchronization

/// Every issuer the gateway trusts: those listed in `auth.issuers`, and those runtimes name by discovery URL.
///
/// A token is matched to an issuer by its `iss` (exactly, or through an Entra tenant template), never by anything
/// the token says about where its keys are.
public final class IssuerRegistry: Sendable {
    private struct State {
        var issuers: [TrustedIssuer]
        var byDiscoveryURL: [String: TrustedIssuer]
    }

    public let configuration: AuthConfiguration
    /// Tokens longer than this are refused before any decoding (issuers may set lower limits).
    public let maxTokenBytes: Int
    private let http: IdentityHTTPClient
    private let clock: any WallClock
    private let metrics: GatewayMetrics
    private let logger: Logger
    private let state: Mutex<State>

    public init(
        configuration: AuthConfiguration, http: IdentityHTTPClient, clock: any WallClock = SystemWallClock(), metrics: GatewayMetrics = GatewayMetrics(),
        logger: Logger
    ) {
        self.configuration = configuration
        self.http = http
        self.clock = clock
        self.metrics = metrics
        self.logger = logger
        self.maxTokenBytes = max(16 * 1024, configuration.issuers.map(\.maxTokenBytes).max() ?? 0)
        let issuers = configuration.issuers.map {
            TrustedIssuer(
                configuration: $0,
                origin: .configured,
                http: http,
                clock: clock,
                allowInsecureURLs: configuration.allowInsecureIssuerURLs,
                metrics: metrics,
                logger: logger
            )
        }
        var byDiscoveryURL: [String: TrustedIssuer] = [:]
        for issuer in issuers {
            if let url = issuer.configuration.discoveryURL { byDiscoveryURL[url] = issuer }
        }
        self.state = Mutex(State(issuers: issuers, byDiscoveryURL: byDiscoveryURL))
    }

    public var issuers: [TrustedIssuer] { state.withLock { $0.issuers } }

    public func issuer(named name: String) -> TrustedIssuer? {
        state.withLock { $0.issuers.first { $0.name == name } }
    }

    /// Why a runtime's discovery URL cannot be trusted.
    public struct RegistrationError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The issuer a runtime's `discoveryUrl` designates: a listed issuer with that discovery URL or issuer, or
    /// else (when `auth.allowUnlistedIssuers` is on) one registered for it with the profile its URL implies.
    public func issuer(forDiscoveryURL url: String) throws(RegistrationError) -> TrustedIssuer {
        if let known = existingIssuer(forDiscoveryURL: url) { return known }
        guard configuration.allowUnlistedIssuers else {
            throw RegistrationError(description: "\(url) is not the discovery URL of an issuer listed in auth.issuers")
        }
        guard IssuerConfiguration.isAcceptableURL(url, allowInsecure: configuration.allowInsecureIssuerURLs) else {
            throw RegistrationError(description: "\(url) must use https (http only on loopback)")
        }
        let issuerGuess = String(url.dropLast(CustomJWTAuthorizer.discoverySuffix.count))
        let profile = IssuerProfileKind.inferred(fromIssuer: issuerGuess)
        let digest = Hex.encode(SHA256.hash(data: Array(url.utf8)).prefix(4))
        let issuerConfiguration = IssuerConfiguration(name: "runtime-\(digest)", profile: profile, discoveryURL: url)
        do {
            try issuerConfiguration.validate()
        } catch {
            throw RegistrationError(
                description: "\(url) needs its own entry in auth.issuers (\(error)); multi-tenant Entra endpoints need their tenants listed"
            )
        }
        return state.withLock { state in
            if let raced = state.byDiscoveryURL[url] { return raced }
            let issuer = TrustedIssuer(
                configuration: issuerConfiguration,
                origin: .runtimeAuthorizer,
                http: http,
                clock: clock,
                allowInsecureURLs: configuration.allowInsecureIssuerURLs,
                metrics: metrics,
                logger: logger
            )
            state.issuers.append(issuer)
            state.byDiscoveryURL[url] = issuer
            return issuer
        }
    }

    /// A listed or already registered issuer for `url`, without registering one.
    public func existingIssuer(forDiscoveryURL url: String) -> TrustedIssuer? {
        state.withLock { state in
            if let issuer = state.byDiscoveryURL[url] { return issuer }
            return state.issuers.first { issuer in
                guard issuer.origin == .configured, let known = issuer.metadataIssuer else { return false }
                return Self.discoveryURL(forIssuer: known) == url
            }
        }
    }

    /// `{issuer}/.well-known/openid-configuration`, as OIDC Discovery builds it.
    static func discoveryURL(forIssuer issuer: String) -> String {
        var base = issuer
        while base.hasSuffix("/") { base.removeLast() }
        return base + CustomJWTAuthorizer.discoverySuffix
    }

    /// The issuer vouching for a token, and the token's canonical issuer.
    func issuer(for claims: JWTClaims) async -> (issuer: TrustedIssuer, canonicalIssuer: String)? {
        if let match = match(claims) { return match }
        // An issuer whose discovery has not answered yet may be the one: let it try once per cooldown.
        let unresolved = issuers.filter { $0.metadataIssuer == nil }
        guard !unresolved.isEmpty else { return nil }
        await withTaskGroup(of: Void.self) { group in
            for issuer in unresolved { group.addTask { await issuer.resolveMetadataIfMissing() } }
        }
        return match(claims)
    }

    private func match(_ claims: JWTClaims) -> (issuer: TrustedIssuer, canonicalIssuer: String)? {
        for issuer in issuers {
            guard let metadataIssuer = issuer.metadataIssuer else { continue }
            if let canonical = issuer.profile.canonicalIssuer(of: claims, metadataIssuer: metadataIssuer, configuration: issuer.configuration) {
                return (issuer, canonical)
            }
        }
        return nil
    }

    /// Fetches the metadata and keys of every issuer that has none yet, concurrently; failures are logged and
    /// retried in the background.
    public func hydrate() async {
        await withTaskGroup(of: Void.self) { group in
            for issuer in issuers where issuer.status.lastSuccess == nil { group.addTask { await issuer.refresh() } }
        }
    }

    /// Refreshes the issuers whose refresh is due; returns when the next one will be.
    public func refreshDue() async -> Date? {
        let now = clock.now()
        let due = issuers.filter { $0.isRefreshDue(at: now) }
        await withTaskGroup(of: Void.self) { group in
            for issuer in due { group.addTask { await issuer.refresh() } }
        }
        return issuers.compactMap(\.nextRefresh).min()
    }
}
