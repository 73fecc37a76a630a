import Foundation
import Logging
import PortcullisCore
import PortcullisSessions
import PortcullisStore

/// Deploys code and container-image versions: fetches the code (building or reusing its dependency layer) or
/// unpacks the image, installs it where sessions find it, and records the outcome — `READY`, or `CREATE_FAILED`/`UPDATE_FAILED` with a reason a person can act on.
///
/// Deployments run one at a time, in the order they were asked for, off the request that asked: the control plane
/// answers `CREATING` at once and the version turns `READY` when its files are in place. A deployment the gateway
/// did not finish (it stopped) is run again at the next start, since its source is part of the stored version.
actor AgentDeployer {
    private let store: any AgentRegistryStore
    private let artifacts: AgentArtifacts
    private let fetcher: CodeFetcher
    private let layers: DependencyLayers
    private let resolver: RuntimeResolver
    private let clock: any WallClock
    private let logger: Logger
    /// The newest scheduled work; each new piece waits for it, so work runs serially.
    private var tail: Task<Void, Never>?
    private var running: [Int: Task<Void, Never>] = [:]
    private var nextTicket = 0
    private var isShutDown = false

    init(
        store: any AgentRegistryStore,
        artifacts: AgentArtifacts,
        fetcher: CodeFetcher,
        layers: DependencyLayers,
        resolver: RuntimeResolver,
        clock: any WallClock,
        logger: Logger
    ) {
        self.store = store
        self.artifacts = artifacts
        self.fetcher = fetcher
        self.layers = layers
        self.resolver = resolver
        self.clock = clock
        self.logger = logger
    }

    nonisolated func admit(_ source: CodeArtifact.Source, field: String) throws(AgentCoreError) {
        try fetcher.admit(source, field: field)
    }

    /// Queues the deployment of a `CREATING` version.
    func schedule(runtimeId: String, version: Int, artifact: AgentRuntimeArtifact) {
        enqueue { deployer in
            _ = await deployer?.deploy(runtimeId: runtimeId, version: version, artifact: artifact)
        }
    }

    /// Deploys a version now (after anything queued) and returns why it failed, or `nil` once it is `READY`.
    func deployNow(runtimeId: String, version: Int, artifact: AgentRuntimeArtifact) async -> String? {
        let outcome = AsyncStream<String?>.makeStream()
        enqueue { deployer in
            if let deployer {
                outcome.continuation.yield(await deployer.deploy(runtimeId: runtimeId, version: version, artifact: artifact))
            }
            outcome.continuation.finish()
        }
        for await failure in outcome.stream { return failure }
        return "the gateway is shutting down"
    }

    /// Queues every version left `CREATING` by an earlier run.
    func resumePending() async {
        do {
            for version in try await store.pendingDeployments() {
                guard version.configuration.artifact.runsInSandbox else { continue }
                logger.notice("resuming an interrupted deployment", metadata: ["runtime_id": "\(version.runtimeId)", "version": "\(version.version)"])
                schedule(runtimeId: version.runtimeId, version: version.version, artifact: version.configuration.artifact)
            }
        } catch {
            logger.error("cannot list interrupted deployments", metadata: ["error": "\(error)"])
        }
    }

    /// Removes a deleted runtime's files and the dependency layers nothing uses any more, after queued work.
    func removeArtifacts(runtimeId: String) {
        enqueue { deployer in await deployer?.collect(runtimeId: runtimeId) }
    }

    /// Removes dependency layers no deployed version uses, after queued work.
    func collectUnusedLayers() {
        enqueue { deployer in await deployer?.collectLayers() }
    }

    private func collectLayers() {
        layers.removeUnused(keeping: artifacts.layersInUse())
    }

    /// Waits for queued work to end, cancelling what runs (a pip install is killed; its version stays `CREATING`
    /// and is deployed again at the next start).
    func shutdown() async {
        isShutDown = true
        for task in running.values { task.cancel() }
        await tail?.value
    }

    /// Runs `work` after everything queued before it. Work that will not run (the deployer is shut down, or the
    /// task was cancelled) is still called, with `nil`, so a caller waiting on it is always answered.
    private func enqueue(_ work: @escaping @Sendable (AgentDeployer?) async -> Void) {
        guard !isShutDown else {
            Task { await work(nil) }
            return
        }
        let previous = tail
        let ticket = nextTicket
        nextTicket += 1
        let task = Task { [weak self] in
            await previous?.value
            guard let self, !Task.isCancelled else {
                await work(nil)
                return
            }
            await work(self)
            await self.finished(ticket)
        }
        running[ticket] = task
        tail = task
    }

    private func finished(_ ticket: Int) {
        running.removeValue(forKey: ticket)
    }

    private func collect(runtimeId: String) async {
        guard (try? await store.runtime(id: runtimeId)) == nil else { return }
        artifacts.remove(runtimeId: runtimeId)
        layers.removeUnused(keeping: artifacts.layersInUse())
    }

    /// One deployment, start to recorded outcome.
    private func deploy(runtimeId: String, version: Int, artifact: AgentRuntimeArtifact) async -> String? {
        let started = ContinuousClock.now
        let failure: String?
        do throws(ArtifactError) {
            switch artifact {
            case .endpoint: break
            case .code(let code): try await install(runtimeId: runtimeId, version: version, code: code)
            case .image(let image): try await install(runtimeId: runtimeId, version: version, image: image)
            }
            failure = nil
        } catch {
            failure = error.description
        }
        if Task.isCancelled { return "the gateway stopped during the deployment" }
        do {
            let recorded = try await store.finishDeployment(runtimeId: runtimeId, version: version, failureReason: failure, at: clock.now())
            if !recorded, try await store.runtime(id: runtimeId) == nil {
                // Deleted while it deployed: what was installed goes.
                artifacts.remove(runtimeId: runtimeId)
                return "the agent runtime was deleted"
            }
        } catch {
            logger.error("cannot record a deployment's outcome", metadata: ["runtime_id": "\(runtimeId)", "error": "\(error)"])
            return "the agent registry is unavailable"
        }
        resolver.invalidate(runtimeId: runtimeId)
        let elapsed = ContinuousClock.now - started
        if let failure {
            logger.warning("agent deployment failed", metadata: ["runtime_id": "\(runtimeId)", "version": "\(version)", "reason": "\(failure)"])
        } else {
            logger.info("agent deployed", metadata: ["runtime_id": "\(runtimeId)", "version": "\(version)", "duration": "\(elapsed)"])
        }
        return failure
    }

    private func install(runtimeId: String, version: Int, code: CodeArtifact) async throws(ArtifactError) {
        guard let python = CodeArtifact.interpreterPath(of: code.runtime), FileManager.default.isExecutableFile(atPath: python) else {
            let installed = CodeArtifact.runtimes.filter { CodeArtifact.interpreterPath(of: $0).map(FileManager.default.isExecutableFile) ?? false }
            throw ArtifactError(
                "\(code.runtime) needs \(CodeArtifact.interpreterPath(of: code.runtime) ?? "a Python interpreter"), which this host does not have (installed: \(installed.isEmpty ? "none" : installed.joined(separator: ", ")))"
            )
        }
        let staging = try artifacts.makeStaging(for: artifacts.codeDirectory(runtimeId: runtimeId, version: version))
        defer { try? FileManager.default.removeItem(atPath: staging) }
        try await fetcher.fetch(code.source, into: staging)
        let layer = try await layers.layer(forCode: staging, runtime: code.runtime)
        try await precompile(staging, python: python, entryPoint: code.entryPoint.last!, runtimeId: runtimeId)
        try artifacts.install(staging: staging, entryPoint: code.entryPoint, layer: layer, runtimeId: runtimeId, version: version)
    }

    private func install(runtimeId: String, version: Int, image: ContainerImage) async throws(ArtifactError) {
        let staging = try artifacts.makeStaging(for: artifacts.imageDirectory(runtimeId: runtimeId, version: version))
        defer { try? FileManager.default.removeItem(atPath: staging) }
        try await fetcher.fetchImage(image, into: staging)
        try artifacts.installImage(staging: staging, runtimeId: runtimeId, version: version)
    }

    /// Compiles the code's modules ahead of time: the sandbox sees them read-only and could not cache them, so
    /// every cold start would compile them again. A syntax error in the entry point fails the deployment now rather
    /// than every session later; one elsewhere (a vendored file for another Python) is only logged.
    private func precompile(_ directory: String, python: String, entryPoint: String, runtimeId: String) async throws(ArtifactError) {
        let outcome = try await ToolProcess(
            executable: python,
            arguments: ["-I", "-m", "compileall", "-q", "-j", "0", "-d", SandboxLayout.codeDirectory, directory],
            environment: ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"],
            timeout: .seconds(300),
            tailBytes: 800
        ).runStep()
        guard outcome.exitStatus != 0 else { return }
        let detail = outcome.timedOut ? "it took longer than 5 minutes" : outcome.outputTail.replacingOccurrences(of: directory + "/", with: "")
        if outcome.timedOut || detail.contains("\(SandboxLayout.codeDirectory)/\(entryPoint)") || detail.contains("'\(entryPoint)'") {
            throw ArtifactError("the entry point does not compile: \(detail)")
        }
        logger.warning("some of the agent's modules do not compile", metadata: ["runtime_id": "\(runtimeId)", "output": "\(detail)"])
    }
}
