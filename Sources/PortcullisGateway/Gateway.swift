import Cedar
import Crypto
public import Foundation
public import Hummingbird
import HummingbirdCore
import HummingbirdTLS
public import Logging
import NIOCore
import NIOPosix
import NIOSSL
public import PortcullisCore
public import PortcullisIdentity
public import PortcullisPolicy
import PortcullisSessions
public import PortcullisStore
public import PortcullisVault
import ServiceLifecycle

/// The assembled gateway: store, authenticators, registry, sessions and the HTTP application.
///
/// ```swift
/// let gateway = try await Gateway(configuration: configuration, logger: logger)
/// try await gateway.makeApplication().runService()
/// ```
public struct Gateway: Sendable {
    public let configuration: GatewayConfiguration
    public let store: SQLiteStore
    public let apiKeys: APIKeyService
    let apiKeyAuthenticator: APIKeyAuthenticator
    /// Trusted identity providers and their keys.
    public let issuers: IssuerRegistry
    /// The keys that seal secrets at rest; sealed (empty) when none are configured.
    public let keyRing: KeyRing
    public let accessKeys: AccessKeyService
    let sigV4Authenticator: SigV4Authenticator
    /// The Cedar policies in force, reloaded as their directory changes.
    public let policies: PolicyDirectory
    let decisionLog: DecisionLog
    /// `portcullis dev`'s identity provider, when the gateway runs in dev mode.
    let developmentProvider: DevelopmentIdentityProvider?
    let browserSessions: BrowserSessions
    let pendingSignIns: PendingSignIns
    let signInSecrets: [String: String]
    let clock: any WallClock
    let identityHTTP: IdentityHTTPClient
    let jwtAuthenticator: JWTAuthenticator
    let registry: AgentRuntimeRegistry
    let deployer: AgentDeployer
    let resolver: RuntimeResolver
    let sessions: AgentSessions
    let upstream: UpstreamClient
    let connections = ConnectionRegistry()
    let advertisedURL: AdvertisedGatewayURL
    let audit: AuditLog
    let access: AccessPolicy
    let idempotency: IdempotencyGuard
    /// Mints the workload access tokens agents get with every call.
    public let workloadTokens: WorkloadAccessTokens
    let credentialProviders: CredentialProviders
    let oauth2Tokens: OAuth2Tokens
    /// Revokes at the vendors the tokens of grants the vault deleted.
    let vendorRevocations: VendorRevocations
    let consent: ConsentFlow
    let vault: VaultDataPlane
    /// What `/metrics` on the metrics listener shows (`metrics.listen`); recorded whether or not it is served.
    public let metrics: GatewayMetrics
    /// The spans exported over OTLP/HTTP (`tracing.endpoint`); `off` without one.
    let tracing: GatewayTracing
    /// The sessions in sandboxes and their invocations in flight, for the spans agents send and their vault calls.
    let traceIndex: SandboxTraceIndex
    let logger: Logger

    /// Opens the store and brings the declared agents up to date.
    /// - Parameter environment: where the variables that configuration names by name (S3 credentials) are read,
    ///   at each use — the process environment, or a test's own table (a test must not `setenv` in a process
    ///   whose other threads read the environment).
    public init(
        configuration: GatewayConfiguration, logger: Logger, clock: any WallClock = SystemWallClock(),
        environment: @escaping @Sendable () -> [String: String] = { ProcessInfo.processInfo.environment }
    ) async throws {
        self.configuration = configuration
        self.logger = logger
        let metrics = GatewayMetrics()
        self.metrics = metrics
        let tracing = try GatewayTracing.make(configuration.tracing, logger: logger)
        self.tracing = tracing
        self.store = try SQLiteStore(path: try configuration.store.sqlitePath(), logger: logger)
        do {
            self.policies = try PolicyDirectory(path: configuration.policies.directory, now: clock.now())
        } catch {
            throw ConfigurationError("policies: the directory \(configuration.policies.directory) cannot be put in force:\n" + error.description)
        }
        self.decisionLog = DecisionLog(store: store, recordAllowed: configuration.policies.recordAllowed, metrics: metrics, logger: logger)
        await decisionLog.save(policies.engine.current, at: clock.now())
        logger.info(
            "policies in force",
            metadata: ["directory": "\(policies.path)", "digest": "\(policies.status.activeDigest)", "policies": "\(policies.engine.current.policies.policies.count)"]
        )
        self.apiKeyAuthenticator = APIKeyAuthenticator(
            store: store,
            clock: clock,
            cacheLifetime: configuration.auth.apiKeyCacheSeconds,
            logger: logger
        )
        self.apiKeys = APIKeyService(store: store, clock: clock, authenticator: apiKeyAuthenticator)
        self.identityHTTP = IdentityHTTPClient.shared
        self.issuers = IssuerRegistry(configuration: configuration.auth, http: identityHTTP, clock: clock, metrics: metrics, logger: logger)
        self.jwtAuthenticator = JWTAuthenticator(registry: issuers, clock: clock, logger: logger)
        self.clock = clock
        if let development = configuration.development {
            let provider = try DevelopmentIdentityProvider(settings: development, clock: clock)
            issuers.issuer(named: DevelopmentSettings.issuerName)?.preload(metadata: provider.metadata, keys: [provider.key.verificationKey])
            self.developmentProvider = provider
        } else {
            self.developmentProvider = nil
        }
        var secrets: [String: String] = [:]
        for issuer in configuration.auth.issuers {
            if let secret = try issuer.signIn?.clientSecret() { secrets[issuer.name] = secret }
        }
        self.signInSecrets = secrets
        self.browserSessions = BrowserSessions(store: store, clock: clock, lifetime: TimeInterval(configuration.auth.browserSessionSeconds), logger: logger)
        self.pendingSignIns = PendingSignIns(clock: clock)
        do {
            self.keyRing = try KeyRing.load(directory: configuration.keyRing.resolvedDirectory(store: configuration.store))
        } catch {
            throw ConfigurationError("keyRing: \(error.detail)")
        }
        self.sigV4Authenticator = SigV4Authenticator(
            store: store,
            keyRing: keyRing,
            clock: clock,
            clockSkewSeconds: configuration.auth.sigV4ClockSkewSeconds,
            cacheLifetime: configuration.auth.apiKeyCacheSeconds,
            logger: logger
        )
        self.accessKeys = AccessKeyService(store: store, keyRing: keyRing, clock: clock, authenticator: sigV4Authenticator)
        if keyRing.isSealed, try await !store.accessKeys().isEmpty {
            logger.error("no key-encryption key is loaded: SigV4 access keys cannot be verified; see docs/operations.md (key ring)")
        }
        let dataDirectory = URL(fileURLWithPath: configuration.store.dataDirectory).standardizedFileURL.path
        let audit = AuditLog(store: store, metrics: metrics, logger: logger)
        self.audit = audit
        let access = AccessPolicy(engine: policies.engine, log: decisionLog, audit: audit, clock: clock)
        self.access = access
        let workloadTokens = WorkloadAccessTokens(keyRing: keyRing, lifetime: TimeInterval(configuration.auth.workloadTokenSeconds))
        self.workloadTokens = workloadTokens
        if !workloadTokens.isDurable {
            logger.warning("no key-encryption key is loaded: workload access tokens hold only in this process and the token vault is sealed")
        }
        let credentialProviders = CredentialProviders(store: store, keyRing: keyRing, clock: clock, logger: logger)
        self.credentialProviders = credentialProviders
        let lease = configuration.vault.refreshLeaseSeconds
        let faults = VaultFaultPoints.fromEnvironment()
        if faults != nil {
            logger.critical("\(VaultFaultPoints.environmentVariable) is set: this gateway kills itself at a point of every token refresh (crash tests only)")
        }
        let oauth2Tokens = OAuth2Tokens(
            store: store, keyRing: keyRing, client: VendorTokenClient(timeout: .seconds(min(15, lease / 2))), clock: clock, metrics: metrics, logger: logger,
            leaseSeconds: TimeInterval(lease), faults: faults ?? .none
        )
        self.oauth2Tokens = oauth2Tokens
        let vendorRevocations = VendorRevocations(
            store: store, providers: credentialProviders, keyRing: keyRing, client: VendorRevocationClient(configuration: configuration.vault), clock: clock,
            audit: { [audit] event in audit.record(event) }, logger: logger
        )
        self.vendorRevocations = vendorRevocations
        let consent = ConsentFlow(store: store, tokens: oauth2Tokens, keyRing: keyRing, clock: clock, logger: logger)
        self.consent = consent
        let advertisedURL = AdvertisedGatewayURL(configured: configuration.server.publicURL)
        self.advertisedURL = advertisedURL
        let vault = VaultDataPlane(
            tokens: workloadTokens, providers: credentialProviders, oauth2: oauth2Tokens, consent: consent, advertisedURL: advertisedURL,
            workloads: store, runtimes: store, access: access, audit: audit, clock: clock, logger: logger,
            workloadLookups: CredentialRecordCache(lifetime: 2)
        )
        self.vault = vault
        var artifacts = AgentArtifacts(
            root: dataDirectory + "/artifacts",
            layers: configuration.artifacts.layerDirectory ?? dataDirectory + "/layers",
            sandbox: configuration.sandbox,
            names: configuration.resources,
            advertisedURL: advertisedURL
        )
        artifacts.agentSpanReceiver = tracing.isEnabled && configuration.tracing.agentReceiver
        self.resolver = RuntimeResolver(store: store, names: configuration.resources, artifacts: artifacts, logger: logger)
        let traceIndex = SandboxTraceIndex()
        self.traceIndex = traceIndex
        let endpointRoutes = SandboxEndpointRoutes(vault: vault, tracing: tracing, traces: traceIndex, exporter: AgentSpanExporter.make(configuration.tracing, environment: environment(), logger: logger))
        self.sessions = await Self.makeSessions(
            configuration, artifacts: artifacts,
            recorder: StoreSessionRecorder(store: store, audit: audit, metrics: metrics, traces: traceIndex, logger: logger),
            endpoint: { await endpointRoutes.handle($0) }, clock: clock, logger: logger
        )
        self.deployer = AgentDeployer(
            store: store,
            artifacts: artifacts,
            fetcher: CodeFetcher(configuration: configuration.artifacts, region: configuration.resources.region, clock: clock, environment: environment),
            layers: DependencyLayers(directory: artifacts.layers, pip: configuration.artifacts.pip, ownsDirectory: configuration.artifacts.layerDirectory == nil),
            resolver: resolver,
            clock: clock,
            logger: logger
        )
        self.registry = AgentRuntimeRegistry(
            store: store,
            names: configuration.resources,
            clock: clock,
            resolver: resolver,
            deployer: deployer,
            sessions: sessions,
            issuers: issuers,
            revocations: vendorRevocations,
            logger: logger
        )
        self.upstream = UpstreamClient(configuration: configuration.upstream)
        self.idempotency = IdempotencyGuard(store: store, clock: clock, logger: logger)
        for agent in configuration.agents where agent.configuration.artifact.runsInSandbox && sessions.sandboxes == nil {
            throw ConfigurationError("agents[\(agent.name)] runs code, but this gateway cannot run sandboxes: \(sessions.sandboxesUnavailable)")
        }
        do {
            try await DeclaredAgentReconciler(registry: registry, deployer: deployer, logger: logger).reconcile(configuration.agents)
            try await trustRuntimeIssuers()
        } catch {
            // The gateway will not run: its sandbox driver's host state goes now.
            await deployer.shutdown()
            await sessions.sandboxes?.shutdown()
            throw error
        }
        if sessions.sandboxes != nil { await deployer.resumePending() }
        await issuers.hydrate()
    }

    /// How often the decision log and the audit trail are written: at hundreds of calls a second a write is then a
    /// few dozen records, a short burst for the calls arriving meanwhile on the same core to wait behind, where once a
    /// second made it hundreds. Measured with bench/vault.sh (docs/benchmarks.md, 2026-12-07): 0.1–0.2 ms less
    /// p99 for a vault read at 470 requests/s and about 40 µs less CPU per read.
    static let logFlushInterval: Duration = .milliseconds(100)

    /// The gateway's driver and those `sandbox.agentDrivers` names beside it.
    private static func makeDrivers(_ sandbox: SandboxConfiguration, dataDirectory: String, logger: Logger) throws(SandboxError) -> SandboxDrivers {
        let standard = try makeDriver(sandbox.driver, sandbox, dataDirectory: dataDirectory, logger: logger)
        var others: [String: any SandboxDriver] = [:]
        for chosen in Set(sandbox.agentDrivers.values) where chosen != sandbox.driver {
            others[chosen.rawValue] = try makeDriver(chosen, sandbox, dataDirectory: dataDirectory, logger: logger)
        }
        return SandboxDrivers(standard: standard, others: others)
    }

    private static func makeDriver(
        _ driver: SandboxConfiguration.Driver, _ sandbox: SandboxConfiguration, dataDirectory: String, logger: Logger
    ) throws(SandboxError) -> any SandboxDriver {
        // One cgroup tree per data directory and driver: gateways sharing a host, and the drivers of one gateway,
        // never touch each other's sessions.
        let instance = String(Hex.encode(SHA256.hash(data: Array(dataDirectory.utf8))).prefix(12))
        switch driver {
        case .process:
            guard sandbox.allowProcessDriver else {
                throw SandboxError(.unavailable, "sandbox.driver: process runs agents without isolation and needs sandbox.allowProcessDriver: true")
            }
            return try ProcessDriver(stateDirectory: dataDirectory + "/processes", setpriv: sandbox.setprivPath, logger: logger)
        case .bubblewrap, .none:
            return try bubblewrapDriver(sandbox, stateDirectory: dataDirectory + "/sandboxes", instance: instance, logger: logger)
        case .microvm:
            let microvm = sandbox.microvm
            return try MicroVMDriver(
                configuration: MicroVMDriver.Configuration(
                    qemu: microvm.qemuPath,
                    guestDirectory: microvm.guestDirectory ?? dataDirectory + "/microvm-guest",
                    stateDirectory: dataDirectory + "/microvm",
                    vcpus: microvm.vcpus,
                    acceleration: microvm.acceleration,
                    snapshots: microvm.snapshots
                        ? MicroVMDriver.Configuration.Snapshots(capacity: microvm.maxSnapshots, bootTimeout: .milliseconds(Int64(sandbox.startTimeoutSeconds * 1000)))
                        : nil
                ),
                // QEMU runs confined like any agent: its own uid, namespaces, seccomp and the session's cgroup.
                confinement: try bubblewrapDriver(sandbox, stateDirectory: dataDirectory + "/microvm/monitors", instance: instance + "-vm", logger: logger),
                logger: logger
            )
        }
    }

    private static func bubblewrapDriver(
        _ sandbox: SandboxConfiguration, stateDirectory: String, instance: String, logger: Logger
    ) throws(SandboxError) -> BubblewrapDriver {
        try BubblewrapDriver(
            configuration: BubblewrapDriver.Configuration(
                bubblewrap: sandbox.bubblewrapPath,
                setpriv: sandbox.setprivPath,
                uids: sandbox.uidRange,
                stateDirectory: stateDirectory,
                instance: instance
            ),
            logger: logger
        )
    }

    /// Session bookkeeping, with sandboxes when the configured driver works on this host.
    private static func makeSessions(
        _ configuration: GatewayConfiguration,
        artifacts: AgentArtifacts,
        recorder: StoreSessionRecorder,
        endpoint: @escaping SandboxEndpointHandler,
        clock: any WallClock,
        logger: Logger
    ) async -> AgentSessions {
        let directory = SessionDirectory(capacity: configuration.sessions.maxTrackedSessions, clock: clock)
        let sandbox = configuration.sandbox
        guard sandbox.driver != .none else {
            return AgentSessions(directory: directory, sandboxes: nil, sandboxesUnavailable: "sandbox.driver is none")
        }
        let dataDirectory = URL(fileURLWithPath: configuration.store.dataDirectory).standardizedFileURL.path
        do {
            try artifacts.makeReachable()
            let drivers = try makeDrivers(sandbox, dataDirectory: dataDirectory, logger: logger)
            let sandboxes = SandboxSessions(
                drivers: drivers,
                quotas: SandboxSessions.Quotas(
                    maxSessions: sandbox.maxSessions,
                    maxSessionsPerPrincipal: sandbox.maxSessionsPerPrincipal,
                    startTimeoutSeconds: sandbox.startTimeoutSeconds
                ),
                warmPoolSize: sandbox.warmPoolSize,
                recorder: recorder,
                metrics: recorder.metrics,
                endpoint: endpoint,
                clock: clock,
                logger: logger
            )
            await recorder.closeLeftovers()
            await sandboxes.prepare()
            return AgentSessions(directory: directory, sandboxes: sandboxes, sandboxesUnavailable: "")
        } catch {
            logger.warning("agents deployed as code cannot run on this gateway", metadata: ["reason": "\(error.message)"])
            return AgentSessions(directory: directory, sandboxes: nil, sandboxesUnavailable: error.message)
        }
    }

    /// Registers the issuers that existing runtimes' authorizers name, so their keys are fetched at start-up.
    private func trustRuntimeIssuers() async throws {
        var after: String?
        while true {
            let page = try await registry.list(after: after, limit: 100)
            for (runtime, version) in page {
                do {
                    try registry.trustAuthorizer(of: version.configuration)
                } catch {
                    logger.warning("a runtime's authorizer names an issuer that is not trusted", metadata: ["agent": "\(runtime.name)", "error": "\(error.message)"])
                }
            }
            guard page.count == 100, let last = page.last else { return }
            after = last.0.id
        }
    }

    /// The HTTP application, ready to run.
    /// - Parameter onServerRunning: called with the listening channel once the port is bound.
    public func makeApplication(
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let server = configuration.server
        let isTLS = server.tls != nil
        let authenticators = AuthenticatorChain([apiKeyAuthenticator, jwtAuthenticator, sigV4Authenticator])
        let baseURL = PublicBaseURL(configured: server.publicURL, isTLS: isTLS)
        let gate = InvocationGate(
            authenticators: authenticators,
            signatures: sigV4Authenticator,
            authorizerCheck: JWTAuthorizerCheck(registry: issuers),
            resolver: resolver,
            access: access,
            names: configuration.resources,
            baseURL: baseURL,
            audit: audit,
            logger: logger
        )

        let router = Router(context: GatewayRequestContext.self)
        router.middlewares.add(EnvelopeMiddleware(metrics: metrics, tracing: tracing))
        HealthController(store: store, policies: policies).register(on: router)
        ProtectedResourceController(resolver: resolver, issuers: issuers, names: configuration.resources, baseURL: baseURL).register(on: router)
        SignInController(
            issuers: issuers,
            verifier: IDTokenVerifier(registry: issuers, clock: clock),
            sessions: browserSessions,
            pending: pendingSignIns,
            clientSecrets: signInSecrets,
            baseURL: baseURL,
            logger: logger
        ).register(on: router)
        if let developmentProvider {
            DevelopmentIdentityProviderController(provider: developmentProvider).register(on: router)
        }
        InvocationController(
            gate: gate,
            sessions: sessions,
            upstream: upstream,
            connections: connections,
            limits: configuration.limits,
            maxStreamDuration: .milliseconds(Int64(configuration.upstream.maxStreamSeconds * 1000)),
            isTLS: isTLS,
            workloadTokens: workloadTokens,
            clock: clock,
            metrics: metrics,
            tracing: tracing,
            traceIndex: traceIndex,
            logger: logger
        ).register(on: router)
        let administrators = AdministratorGate(
            authenticators: authenticators, access: access, registry: registry, names: configuration.resources,
            maxBodyBytes: configuration.limits.maxControlPlaneBodyBytes, audit: audit, logger: logger
        )
        WorkloadIdentityController(
            gate: administrators, store: store, runtimes: store, resolver: resolver, tokens: workloadTokens, jwtAuthenticator: jwtAuthenticator,
            vaultLookups: vault.workloadLookups, revocations: vendorRevocations, names: configuration.resources, clock: clock, logger: logger
        ).register(on: router, controlPlane: server.controlPlane)
        CredentialProviderController(gate: administrators, providers: credentialProviders, vault: vault, names: configuration.resources)
            .register(on: router, controlPlane: server.controlPlane)
        if server.controlPlane {
            OAuth2ProviderController(
                gate: administrators, providers: credentialProviders, registrar: OAuth2Registrar(configuration: configuration.vault),
                advertisedURL: advertisedURL, revocations: vendorRevocations, names: configuration.resources
            ).register(on: router)
        }
        ConsentController(
            consent: consent, providers: credentialProviders, store: store, browserSessions: browserSessions, issuers: issuers,
            jwtAuthenticator: jwtAuthenticator, gate: administrators, advertisedURL: advertisedURL, audit: audit, clock: clock, logger: logger
        ).register(on: router)
        if server.controlPlane {
            ControlPlaneController(
                registry: registry,
                authenticators: authenticators,
                access: access,
                idempotency: idempotency,
                names: configuration.resources,
                maxBodyBytes: configuration.limits.maxControlPlaneBodyBytes,
                audit: audit,
                logger: logger
            ).register(on: router)
            AuditController(gate: administrators, store: store, log: audit).register(on: router)
            let sessionsController = SessionsController(
                gate: administrators,
                store: store,
                sandboxes: sessions.sandboxes,
                names: configuration.resources,
                clock: clock
            )
            sessionsController.register(on: router)
            ConsoleController(
                gate: administrators, browserSessions: browserSessions, issuers: issuers, registry: registry, sessions: sessionsController,
                sandboxesUnavailable: sessions.sandboxes == nil ? sessions.sandboxesUnavailable : nil, sessionRecords: store, auditRecords: store,
                auditLog: audit, apiKeys: store, policies: policies, baseURL: baseURL, clock: clock
            ).register(on: router)
        }

        let webSocketGate = WebSocketGate(
            gate: gate,
            sessions: sessions,
            connector: UpstreamWebSocketConnector(
                eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
                connectTimeout: .milliseconds(Int64(configuration.upstream.connectTimeoutSeconds * 1000)),
                handshakeTimeout: .milliseconds(Int64(max(10, configuration.upstream.connectTimeoutSeconds) * 1000)),
                maxFrameBytes: configuration.limits.webSocketMaxFrameBytes
            ),
            limits: configuration.limits,
            isTLS: isTLS,
            workloadTokens: workloadTokens,
            clock: clock,
            logger: logger
        )
        let settings = GatewayChannel.Settings(
            isTLS: isTLS,
            maxBodyBytes: configuration.limits.maxPayloadBytes,
            maxHeaderBytes: server.maxHeaderBytes,
            idleTimeout: .seconds(server.idleTimeoutSeconds),
            headerTimeout: .seconds(30),
            webSocketMaxFrameBytes: configuration.limits.webSocketMaxFrameBytes
        )
        let relay = WebSocketRelay(
            maxMessageBytes: configuration.limits.webSocketMaxMessageBytes,
            maxDuration: .milliseconds(Int64(configuration.upstream.maxStreamSeconds * 1000)),
            logger: logger
        )
        let connections = self.connections
        var builder = HTTPServerBuilder { responder in
            GatewayChannel(responder: responder, settings: settings, connections: connections, webSocketGate: webSocketGate, relay: relay)
        }
        if let tls = server.tls {
            builder = try .tls(builder, tlsConfiguration: try Self.tlsConfiguration(tls))
        }
        var services: [any Service] = [
            UpstreamClientService(client: upstream),
            IssuerRefreshService(issuers: issuers, logger: logger),
            PolicyReloadService(
                policies: policies,
                log: decisionLog,
                audit: audit,
                interval: configuration.policies.reloadIntervalSeconds > 0
                    ? .milliseconds(Int64(configuration.policies.reloadIntervalSeconds * 1000)) : nil,
                logger: logger
            ),
            // The decision log goes to the store every tenth of a second, and once more at shutdown.
            PeriodicService(interval: Self.logFlushInterval, tick: { await decisionLog.flush() }, final: { await decisionLog.flush() }),
            // The audit trail too; its last flush comes after the sessions' ends (services stop in reverse order).
            PeriodicService(interval: Self.logFlushInterval, tick: { [audit] in await audit.flush() }, final: { [audit] in await audit.flush() }),
            MaintenanceService(
                sessions: sessions.directory,
                upstream: upstream,
                apiKeys: apiKeyAuthenticator,
                accessKeys: sigV4Authenticator,
                browserSessions: store,
                decisions: store,
                policies: policies,
                decisionRetention: TimeInterval(configuration.policies.decisionRetentionDays) * 86_400,
                sessionUsage: store,
                usageRetention: TimeInterval(configuration.sessions.usageRetentionDays) * 86_400,
                audit: store,
                auditRetention: TimeInterval(configuration.audit.retentionDays) * 86_400,
                idempotency: idempotency,
                vault: store,
                interval: .seconds(30),
                logger: logger
            ),
        ]
        // Vaulted user tokens about to expire are refreshed before anyone waits for them.
        let (oauth2Tokens, credentialProviders, store) = (self.oauth2Tokens, self.credentialProviders, self.store)
        if configuration.vault.refreshSweepSeconds > 0 {
            services.append(
            PeriodicService(interval: .seconds(configuration.vault.refreshSweepSeconds), tick: {
                _ = await oauth2Tokens.sweep { providerId in
                    guard let record = try? await store.credentialProvider(id: providerId) else { return nil }
                    return try? await credentialProviders.oauth2Client(record)
                }
            }, final: {})
            )
        }
        // Deleted grants' tokens are revoked at once by the gateway that deleted them; this picks up the rest: other
        // gateways' deletions, retries after a vendor failed, attempts a crashed gateway left claimed.
        let vendorRevocations = self.vendorRevocations
        services.append(PeriodicService(interval: .seconds(15), tick: { await vendorRevocations.run() }, final: {}))
        if let sandboxes = sessions.sandboxes {
            // Unused dependency layers go hourly; at shutdown a running deployment is stopped (and resumed at start).
            let deployer = self.deployer
            services.append(PeriodicService(interval: .seconds(3600), tick: { await deployer.collectUnusedLayers() }, final: { await deployer.shutdown() }))
            // Sandboxed sessions end on time every second; at shutdown every sandbox is destroyed.
            services.append(PeriodicService(interval: .seconds(1), tick: { await sandboxes.sweep() }, final: { await sandboxes.shutdown() }))
        }
        if let listen = configuration.metrics.listen {
            services.append(MetricsListener.application(address: listen, metrics: metrics, logger: logger))
        }
        if let exporter = tracing.service {
            // First in, last out: services stop in reverse order, so the spans of everything else's shutdown still
            // go out before the exporter's final flush.
            services.insert(exporter, at: 0)
        }
        return Application(
            router: router,
            server: builder,
            configuration: ApplicationConfiguration(address: .hostname(server.listen.host, port: server.listen.port), serverName: nil),
            services: services,
            onServerRunning: { [advertisedURL] channel in
                advertisedURL.listenerBound(host: server.listen.host, port: channel.localAddress?.port ?? server.listen.port, isTLS: isTLS)
                await onServerRunning(channel)
            },
            logger: logger
        )
    }

    static func tlsConfiguration(_ files: TLSFiles) throws -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(files.certificateChain)
        } catch {
            throw ConfigurationError("server.tls.certificateChain: cannot read PEM certificates from \(files.certificateChain)")
        }
        do {
            key = try NIOSSLPrivateKey(file: files.privateKey, format: .pem)
        } catch {
            throw ConfigurationError("server.tls.privateKey: cannot read a PEM private key from \(files.privateKey)")
        }
        guard !chain.isEmpty else { throw ConfigurationError("server.tls.certificateChain: no certificate in \(files.certificateChain)") }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        return configuration
    }
}

extension Gateway {
    /// The ARN of the runtime named `name`, if it exists.
    public func runtimeARN(named name: String) async throws -> String? {
        try await registry.runtime(named: name).map { configuration.resources.runtimeARN(runtimeId: $0.id) }
    }

    /// An access token from the development identity provider (`portcullis dev` only).
    public func developmentToken(user: String, lifetime: Double) throws -> String? {
        guard let provider = developmentProvider, let user = DevelopmentIdentityProvider.user(user) else { return nil }
        return try provider.accessToken(for: user, clientId: DevelopmentSettings.cliClientId, scopes: ["openid", "agents:invoke"], lifetime: lifetime)
    }

    /// The authenticator for API keys, e.g. to check that a remembered key still works.
    public var apiKeyAuthentication: APIKeyAuthenticator { apiKeyAuthenticator }
}
