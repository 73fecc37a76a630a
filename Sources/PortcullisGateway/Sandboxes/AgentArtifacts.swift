import Foundation
import PortcullisCore
import PortcullisSessions

/// The gateway's copy of each code version's files, under `<data directory>/artifacts/<runtime id>/<version>/`,
/// made when the version is deployed so later edits at the source never change a version that exists.
///
/// Files are root's and readable by everyone (directories 0755): sandboxes run as other uids and see the code
/// read-only. The directories above are not opened to them — the sandbox reaches the code through a descriptor.
struct AgentArtifacts: Sendable {
    let root: String
    /// Where dependency layers are kept (``DependencyLayers``).
    let layers: String
    let sandbox: SandboxConfiguration
    let names: ResourceNames
    /// Where agents are told the gateway is reached (A2A cards advertise it).
    let advertisedURL: AdvertisedGatewayURL
    /// Whether agents are given the span receiver inside their sandbox (`tracing` on, with `agentReceiver`).
    var agentSpanReceiver = false

    /// Makes the artifact and layer directories reachable by the sandbox users, who must pass every directory
    /// above them (bubblewrap resolves bind sources as the sandbox's uid): the data directory gets the search bit
    /// for others (0711 — nothing in it can be listed, and its files keep their 0600), and every directory above
    /// must have it.
    /// - Throws: naming the directory that blocks the way.
    func makeReachable() throws(SandboxError) {
        try Self.makeReachable(root)
        try Self.makeReachable(layers)
    }

    private static func makeReachable(_ directoryPath: String) throws(SandboxError) {
        let files = FileManager.default
        do {
            try files.createDirectory(atPath: directoryPath, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o711])
            try files.setAttributes([.posixPermissions: 0o711], ofItemAtPath: directoryPath)
            let parent = (directoryPath as NSString).deletingLastPathComponent
            let mode = (try files.attributesOfItem(atPath: parent)[.posixPermissions] as? Int) ?? 0o700
            if mode & 0o001 == 0 { try files.setAttributes([.posixPermissions: mode | 0o011], ofItemAtPath: parent) }
        } catch {
            throw SandboxError(.unavailable, "cannot prepare \(directoryPath) for the sandboxes: \(error.localizedDescription)")
        }
        var directory = URL(fileURLWithPath: directoryPath).standardizedFileURL.deletingLastPathComponent()
        while directory.path != "/" {
            let mode = (try? files.attributesOfItem(atPath: directory.path)[.posixPermissions] as? Int) ?? 0
            guard mode & 0o001 != 0 else {
                throw SandboxError(
                    .unavailable,
                    "the sandbox users cannot pass \(directory.path) on the way to \(directoryPath); give it the search bit for others (chmod o+x) or put the directory elsewhere"
                )
            }
            directory = directory.deletingLastPathComponent()
        }
    }

    func codeDirectory(runtimeId: String, version: Int) -> String {
        "\(root)/\(runtimeId)/\(version)/code"
    }

    /// The file beside a version's code naming the dependency layer it uses.
    private func layerRecord(runtimeId: String, version: Int) -> String {
        "\(root)/\(runtimeId)/\(version)/dependencies"
    }

    /// The dependency layer a deployed version uses, if any.
    func dependencyLayer(runtimeId: String, version: Int) -> String? {
        guard let data = FileManager.default.contents(atPath: layerRecord(runtimeId: runtimeId, version: version)) else { return nil }
        let path = String(decoding: data, as: UTF8.self)
        return path.isEmpty ? nil : path
    }

    /// Where a version's unpacked container image is: `rootfs/` and `image.json` (``ImageSummary``).
    func imageDirectory(runtimeId: String, version: Int) -> String {
        "\(root)/\(runtimeId)/\(version)/image"
    }

    /// A fresh staging directory beside `destination` (the version's code or image directory), for the fetcher to fill.
    func makeStaging(for destination: String) throws(ArtifactError) -> String {
        do {
            try Self.createReachable((destination as NSString).deletingLastPathComponent, below: root)
        } catch {
            throw ArtifactError("cannot create \(destination): \(error.localizedDescription)")
        }
        return destination + ".staging-" + SecureRandom.base32(8)
    }

    /// Checks staged code (entry point present, no top-level links, bounded entries), opens it to the sandbox users,
    /// and moves it into the version's place (replacing an earlier copy), recording its dependency layer.
    func install(staging: String, entryPoint: [String], layer: String?, runtimeId: String, version: Int) throws(ArtifactError) {
        let files = FileManager.default
        let destination = codeDirectory(runtimeId: runtimeId, version: version)
        do {
            try Self.checkCode(staging, entryPoint: entryPoint)
            try Self.openToSandboxes(staging)
            if files.fileExists(atPath: destination) { try files.removeItem(atPath: destination) }
            try files.moveItem(atPath: staging, toPath: destination)
            let record = layerRecord(runtimeId: runtimeId, version: version)
            guard files.createFile(atPath: record, contents: Data((layer ?? "").utf8), attributes: [.posixPermissions: 0o600]) else {
                throw ArtifactError("cannot write \(record)")
            }
        } catch let error as ArtifactError {
            throw error
        } catch {
            throw ArtifactError("cannot install the code: \(error.localizedDescription)")
        }
    }

    /// Moves an unpacked image into the version's place (replacing an earlier copy). The unpacker made it root's and
    /// readable by the sandbox users, with its mount points in place.
    func installImage(staging: String, runtimeId: String, version: Int) throws(ArtifactError) {
        let files = FileManager.default
        let destination = imageDirectory(runtimeId: runtimeId, version: version)
        do {
            try files.setAttributes([.posixPermissions: 0o755], ofItemAtPath: staging)
            if files.fileExists(atPath: destination) { try files.removeItem(atPath: destination) }
            try files.moveItem(atPath: staging, toPath: destination)
        } catch {
            throw ArtifactError("cannot install the image: \(error.localizedDescription)")
        }
    }

    /// Every dependency layer some deployed version records.
    func layersInUse() -> Set<String> {
        let files = FileManager.default
        var layers: Set<String> = []
        for runtime in (try? files.contentsOfDirectory(atPath: root)) ?? [] {
            for version in (try? files.contentsOfDirectory(atPath: "\(root)/\(runtime)")) ?? [] {
                guard let number = Int(version), let layer = dependencyLayer(runtimeId: runtime, version: number) else { continue }
                layers.insert(layer)
            }
        }
        return layers
    }

    /// What a session of this version runs: code on the host's Python, or a container image's own root.
    func sandboxedAgent(runtimeId: String, owner: AgentRuntimeOwner, version: AgentRuntimeVersion) -> SandboxedAgent? {
        let configuration = version.configuration
        let command: [String]
        let filesystem: SandboxFilesystem
        var environment: [String: String]
        var contract: [String: String] = [
            "DOCKER_CONTAINER": "1",
            "HOME": SandboxLayout.homeDirectory,
            "AWS_REGION": names.region,
            "AWS_DEFAULT_REGION": names.region,
            "AGENTCORE_RUNTIME_ARN": names.runtimeARN(runtimeId: runtimeId),
            "TMPDIR": "/tmp",
        ]
        switch configuration.artifact {
        case .endpoint:
            return nil
        case .code(let code):
            guard let python = CodeArtifact.interpreterPath(of: code.runtime) else { return nil }
            let script = "\(SandboxLayout.codeDirectory)/\(code.entryPoint.last!)"
            command = code.entryPoint.count == 2 ? ["\(SandboxLayout.dependencyDirectory)/bin/\(code.entryPoint[0])", python, script] : [python, script]
            filesystem = .code(
                codeDirectory(runtimeId: runtimeId, version: version.version),
                dependencies: dependencyLayer(runtimeId: runtimeId, version: version.version)
            )
            environment = configuration.environmentVariables
            contract.merge([
                "PATH": "\(SandboxLayout.dependencyDirectory)/bin:/usr/local/bin:/usr/bin:/bin",
                "PYTHONPATH": SandboxLayout.dependencyDirectory,
                "PYTHONUNBUFFERED": "1",
                "PYTHONDONTWRITEBYTECODE": "1",
                "LANG": "C.UTF-8",
            ]) { _, new in new }
        case .image:
            let directory = imageDirectory(runtimeId: runtimeId, version: version.version)
            guard let summary = ImageSummary.read(from: directory) else { return nil }
            command = summary.command
            let rootfs = directory + "/rootfs"
            filesystem = SandboxFilesystem(
                rootDirectory: rootfs,
                workingDirectory: summary.workingDirectory,
                workingContents: summary.workingDirectory == "/" ? nil : rootfs + summary.workingDirectory
            )
            // The image's own variables, then the runtime's, then the contract's.
            environment = summary.environmentVariables.merging(configuration.environmentVariables) { _, runtime in runtime }
            if environment["PATH"] == nil { contract["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" }
        }
        let egress = configuration.egressAllowlist
        if !egress.isEmpty {
            // The sandbox's only way out: the allowlisting CONNECT proxy on its own loopback.
            let proxy = "http://127.0.0.1:\(EgressProxyAddress.port)"
            for name in ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"] { contract[name] = proxy }
            contract["NO_PROXY"] = "localhost,127.0.0.1,::1"
            contract["no_proxy"] = contract["NO_PROXY"]
        }
        if sandbox.driver != .process {
            // The token vault, through the gateway endpoint on the sandbox's own loopback. The SDK signs its calls
            // with whatever AWS credentials it finds; the endpoint does not check them, so placeholders do unless
            // the runtime sets real ones (for AWS services reached through the egress proxy).
            contract["BEDROCK_AGENTCORE_DP_ENDPOINT"] = SandboxEndpointAddress.url
            for (name, placeholder) in [("AWS_ACCESS_KEY_ID", "PORTCULLISSANDBOX"), ("AWS_SECRET_ACCESS_KEY", "the-sandbox-endpoint-does-not-check-signatures")]
            where environment[name] == nil {
                environment[name] = placeholder
            }
            if agentSpanReceiver {
                // OpenTelemetry SDKs export their spans to the same endpoint; the gateway tags and forwards them.
                contract["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = SandboxEndpointAddress.url + "/v1/traces"
                contract["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] = "http/protobuf"
                contract["OTEL_TRACES_EXPORTER"] = "otlp"
            }
        }
        environment.merge(contract) { _, contractValue in contractValue }
        if configuration.protocolConfiguration.serverProtocol == .a2a {
            // The SDK's serve_a2a binds A2A_PORT and advertises AGENTCORE_RUNTIME_URL in the agent card: the URL
            // its clients must call is the runtime's invocation URL on the gateway, not the sandbox's port.
            environment["A2A_PORT"] = String(configuration.protocolConfiguration.agentPort)
            if let base = advertisedURL.base {
                environment["AGENTCORE_RUNTIME_URL"] = base + PublicBaseURL.resourcePath(runtimeARN: names.runtimeARN(runtimeId: runtimeId))
            }
        }
        let limits = SandboxLimits(
            memoryBytes: sandbox.memoryMiB << 20,
            cpuMillicores: Int((sandbox.cpus * 1000).rounded()),
            maxProcesses: sandbox.maxProcesses,
            writableBytes: sandbox.writableMiB << 20
        )
        return SandboxedAgent(
            runtimeId: runtimeId,
            version: version.version,
            command: command,
            environment: environment,
            filesystem: filesystem,
            limits: limits,
            port: configuration.protocolConfiguration.agentPort,
            lifecycle: configuration.lifecycle,
            egress: egress,
            driver: sandbox.agentDriver(forRuntimeNamed: String(AgentRuntimeIdentifier.name(ofRuntimeId: runtimeId)), declared: owner == .configuration)?
                .rawValue
        )
    }

    /// Creates `directory` and the ones between it and `root` with mode 0711.
    private static func createReachable(_ directory: String, below root: String) throws {
        var path = root
        for component in directory.dropFirst(root.count).split(separator: "/") {
            path += "/" + component
            if !FileManager.default.fileExists(atPath: path) {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o711])
            }
        }
    }

    /// Removes every version's copy of a runtime (it was deleted).
    func remove(runtimeId: String) {
        try? FileManager.default.removeItem(atPath: "\(root)/\(runtimeId)")
    }

    /// Checks a code tree: bounded top-level entries (each becomes a bind mount), none a symbolic link, and the
    /// entry point a file at the top.
    private static func checkCode(_ directory: String, entryPoint: [String]) throws {
        let files = FileManager.default
        let top = try files.contentsOfDirectory(atPath: directory)
        guard top.count <= BubblewrapDriver.maxCodeEntries else {
            throw ArtifactError("the code has \(top.count) top-level entries; at most \(BubblewrapDriver.maxCodeEntries) (put the rest in a directory)")
        }
        for entry in top {
            let attributes = try files.attributesOfItem(atPath: "\(directory)/\(entry)")
            if attributes[.type] as? FileAttributeType == .typeSymbolicLink {
                throw ArtifactError("the code's top-level entry \(entry) is a symbolic link; copy the file instead")
            }
        }
        let script = entryPoint.last!
        var isDirectory: ObjCBool = false
        guard files.fileExists(atPath: "\(directory)/\(script)", isDirectory: &isDirectory), !isDirectory.boolValue else {
            let listing = top.sorted().prefix(10).joined(separator: ", ")
            throw ArtifactError("the entry point \(script) is not in the code (top level: \(listing.isEmpty ? "empty" : listing))")
        }
    }

    /// Makes a tree root's and readable by the sandbox users whatever the gateway's umask: directories 0755, files
    /// 0644 (0755 when executable). Links are left alone.
    static func openToSandboxes(_ directory: String) throws {
        let files = FileManager.default
        try files.setAttributes([.posixPermissions: 0o755, .ownerAccountID: 0, .groupOwnerAccountID: 0], ofItemAtPath: directory)
        guard let walker = files.enumerator(atPath: directory) else { return }
        for case let relative as String in walker {
            let path = "\(directory)/\(relative)"
            let attributes = try files.attributesOfItem(atPath: path)
            let type = attributes[.type] as? FileAttributeType
            if type == .typeSymbolicLink { continue }
            let mode = (attributes[.posixPermissions] as? Int) ?? 0o644
            let opened = type == .typeDirectory ? 0o755 : (mode & 0o111 != 0 ? 0o755 : 0o644)
            try files.setAttributes([.posixPermissions: opened, .ownerAccountID: 0, .groupOwnerAccountID: 0], ofItemAtPath: path)
        }
    }
}

/// Why a version's code cannot be deployed; the message becomes its `failureReason`.
struct ArtifactError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension ToolProcess {
    /// ``run()`` as a deployment step: a tool that cannot start fails the deployment with its reason.
    func runStep() async throws(ArtifactError) -> Outcome {
        do {
            return try await run()
        } catch {
            throw ArtifactError(error.description)
        }
    }
}
