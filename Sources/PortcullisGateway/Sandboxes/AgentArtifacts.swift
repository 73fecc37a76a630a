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
    let sandbox: SandboxConfiguration
    let names: ResourceNames

    /// Makes the artifact directory reachable by the sandbox users, who must pass every directory above it
    /// (bubblewrap resolves bind sources as the sandbox's uid): the data directory gets the search bit for others
    /// (0711 — nothing in it can be listed, and its files keep their 0600), and every directory above must have it.
    /// - Throws: naming the directory that blocks the way.
    func makeReachable() throws(SandboxError) {
        let files = FileManager.default
        do {
            try files.createDirectory(atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o711])
            try files.setAttributes([.posixPermissions: 0o711], ofItemAtPath: root)
            let dataDirectory = (root as NSString).deletingLastPathComponent
            let mode = (try files.attributesOfItem(atPath: dataDirectory)[.posixPermissions] as? Int) ?? 0o700
            if mode & 0o001 == 0 { try files.setAttributes([.posixPermissions: mode | 0o011], ofItemAtPath: dataDirectory) }
        } catch {
            throw SandboxError(.unavailable, "cannot prepare \(root) for the sandboxes: \(error.localizedDescription)")
        }
        var directory = URL(fileURLWithPath: root).standardizedFileURL.deletingLastPathComponent()
        while directory.path != "/" {
            let mode = (try? files.attributesOfItem(atPath: directory.path)[.posixPermissions] as? Int) ?? 0
            guard mode & 0o001 != 0 else {
                throw SandboxError(
                    .unavailable,
                    "the sandbox users cannot pass \(directory.path) on the way to \(root); give it the search bit for others (chmod o+x) or put store.dataDirectory elsewhere"
                )
            }
            directory = directory.deletingLastPathComponent()
        }
    }

    func codeDirectory(runtimeId: String, version: Int) -> String {
        "\(root)/\(runtimeId)/\(version)/code"
    }

    /// Copies a version's code into place (replacing an earlier copy of the same version) and checks it.
    /// - Throws: a message a person can act on: missing source or entry point, interpreter not on this host.
    func deploy(_ code: CodeArtifact, runtimeId: String, version: Int) throws(ArtifactError) {
        let installed = { (runtime: String) in CodeArtifact.interpreterPath(of: runtime).map(FileManager.default.isExecutableFile) ?? false }
        guard installed(code.runtime) else {
            let available = CodeArtifact.runtimes.filter(installed)
            throw ArtifactError(
                "\(code.runtime) needs \(CodeArtifact.interpreterPath(of: code.runtime) ?? "a Python interpreter"), which this host does not have (installed: \(available.isEmpty ? "none" : available.joined(separator: ", ")))"
            )
        }
        guard case .path(let source) = code.source else { throw ArtifactError("unsupported code source") }
        let files = FileManager.default
        let destination = codeDirectory(runtimeId: runtimeId, version: version)
        let staging = destination + ".staging-" + SecureRandom.base32(8)
        do {
            try Self.createReachable((destination as NSString).deletingLastPathComponent, below: root)
            var isDirectory: ObjCBool = false
            guard files.fileExists(atPath: source, isDirectory: &isDirectory) else {
                throw ArtifactError("the code path \(source) does not exist")
            }
            if isDirectory.boolValue {
                try files.copyItem(atPath: source, toPath: staging)
            } else if source.hasSuffix(".zip") {
                try extractZip(source, to: staging)
            } else {
                throw ArtifactError("the code path \(source) is neither a directory nor a .zip file")
            }
            try checkAndOpen(staging, entryPoint: code.entryPoint)
            if files.fileExists(atPath: destination) { try files.removeItem(atPath: destination) }
            try files.moveItem(atPath: staging, toPath: destination)
        } catch let error as ArtifactError {
            try? files.removeItem(atPath: staging)
            throw error
        } catch {
            try? files.removeItem(atPath: staging)
            throw ArtifactError("cannot copy the code from \(source): \(error.localizedDescription)")
        }
    }

    /// What a session of this version runs.
    func sandboxedAgent(runtimeId: String, version: AgentRuntimeVersion) -> SandboxedAgent? {
        guard case .code(let code) = version.configuration.artifact, let python = CodeArtifact.interpreterPath(of: code.runtime) else {
            return nil
        }
        let script = "\(SandboxLayout.codeDirectory)/\(code.entryPoint.last!)"
        let command = code.entryPoint.count == 2 ? ["\(SandboxLayout.dependencyDirectory)/bin/\(code.entryPoint[0])", python, script] : [python, script]
        let configuration = version.configuration
        var environment = configuration.environmentVariables
        let contract: [String: String] = [
            "DOCKER_CONTAINER": "1",
            "HOME": SandboxLayout.homeDirectory,
            "PATH": "\(SandboxLayout.dependencyDirectory)/bin:/usr/local/bin:/usr/bin:/bin",
            "PYTHONPATH": SandboxLayout.dependencyDirectory,
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "AWS_REGION": names.region,
            "AWS_DEFAULT_REGION": names.region,
            "AGENTCORE_RUNTIME_ARN": names.runtimeARN(runtimeId: runtimeId),
            "TMPDIR": "/tmp",
            "LANG": "C.UTF-8",
        ]
        environment.merge(contract) { _, contractValue in contractValue }
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
            codeDirectory: codeDirectory(runtimeId: runtimeId, version: version.version),
            dependencyDirectory: nil,
            limits: limits,
            port: configuration.protocolConfiguration.agentPort,
            lifecycle: configuration.lifecycle
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

    /// Checks the copied tree (entry point present, no top-level links out of it, bounded entries) and opens it to
    /// the sandbox users: directories 0755, files readable by all (execute bits kept).
    private func checkAndOpen(_ directory: String, entryPoint: [String]) throws {
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
            throw ArtifactError("the entry point \(script) is not in the code (top level: \(top.sorted().prefix(10).joined(separator: ", ")))")
        }
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

    /// Unpacks a zip with Python's `zipfile`, which refuses members that would land outside the target.
    private func extractZip(_ archive: String, to directory: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-I", "-m", "zipfile", "-e", archive, directory]
        let errors = Foundation.Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile().suffix(300), as: UTF8.self)
            throw ArtifactError("cannot unpack \(archive): \(message.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }
}

/// Why a version's code cannot be deployed; the message becomes its `failureReason`.
struct ArtifactError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
