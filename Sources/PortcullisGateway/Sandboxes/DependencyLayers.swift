import Crypto
import Foundation
import PortcullisCore

/// Read-only dependency layers built from a code version's `requirements.txt` with pip, once: a layer is named by
/// the hash of what went into it (runtime, pip settings, the requirements), so versions and agents with the same
/// requirements share one, and a new version with unchanged requirements deploys without running pip.
///
/// What pip may do is narrowed twice: requirements files may hold only package requirements (no options, URLs or
/// paths, which could point pip at another index or at local files), and by default only wheels are installed,
/// so no package's build code runs on the gateway host.
struct DependencyLayers: Sendable {
    let directory: String
    let pip: PipConfiguration
    /// Whether this gateway alone uses `directory` and may remove what its versions do not use; a layer directory
    /// shared between gateways (`artifacts.layerDirectory`) is never pruned.
    let ownsDirectory: Bool

    static let maxRequirementsBytes = 64 * 1024

    /// The layer for a staged code tree, built when missing; `nil` when the code has no `requirements.txt`.
    func layer(forCode code: String, runtime: String) async throws(ArtifactError) -> String? {
        let file = "\(code)/\(CodeArtifact.requirementsFile)"
        guard FileManager.default.fileExists(atPath: file) else { return nil }
        guard let data = FileManager.default.contents(atPath: file), data.count <= Self.maxRequirementsBytes else {
            throw ArtifactError("\(CodeArtifact.requirementsFile) cannot be read or is larger than \(Self.maxRequirementsBytes / 1024) KiB")
        }
        let requirements = String(decoding: data, as: UTF8.self)
        try Self.validate(requirements)
        guard let python = CodeArtifact.interpreterPath(of: runtime) else { throw ArtifactError("unknown runtime \(runtime)") }
        var identity = "portcullis-layer-1\n\(runtime)\n"
        identity += pip.arguments.joined(separator: "\u{1F}") + "\n" + requirements
        let name = String(Hex.encode(SHA256.hash(data: Array(identity.utf8))).prefix(32))
        let layer = "\(directory)/\(name)"
        if FileManager.default.fileExists(atPath: layer) { return layer }
        try await build(layer, python: python, requirements: file)
        return layer
    }

    /// Accepts blank lines, comments and requirement lines (`name[extras] specifiers ; markers`).
    static func validate(_ requirements: String) throws(ArtifactError) {
        for (index, rawLine) in requirements.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(rawLine)
            if let hash = line.firstIndex(of: "#"), hash == line.startIndex || line[line.index(before: hash)].isWhitespace {
                line = line[..<hash]
            }
            line = line.drop(while: \.isWhitespace)
            while let last = line.last, last.isWhitespace { line = line.dropLast() }
            guard !line.isEmpty else { continue }
            let first = line.unicodeScalars.first!
            let startsWithName = (first.value >= 0x41 && first.value <= 0x5A) || (first.value >= 0x61 && first.value <= 0x7A)
                || (first.value >= 0x30 && first.value <= 0x39)
            let hasReference = line.contains("://") || line.contains("@") || line.hasSuffix("\\")
            guard startsWithName, !hasReference, line.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) else {
                throw ArtifactError(
                    "\(CodeArtifact.requirementsFile) line \(index + 1) is not a package requirement (options, URLs, paths and line continuations are refused; configure indexes in artifacts.pip): \(line.prefix(80))"
                )
            }
        }
    }

    private func build(_ layer: String, python: String, requirements: String) async throws(ArtifactError) {
        let files = FileManager.default
        let staging = layer + ".staging-" + SecureRandom.base32(8)
        defer { try? files.removeItem(atPath: staging) }
        let arguments = [
            "-I", "-m", "pip", "install", "--isolated", "--no-input", "--disable-pip-version-check", "--no-warn-script-location",
            "--root-user-action=ignore", "--target", staging,
        ] + pip.arguments + ["-r", requirements]
        let outcome = try await ToolProcess(
            executable: python,
            arguments: arguments,
            environment: ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": directory],
            timeout: .seconds(pip.timeoutSeconds)
        ).runStep()
        guard outcome.exitStatus == 0 else {
            if outcome.timedOut {
                throw ArtifactError("pip install -r \(CodeArtifact.requirementsFile) took longer than artifacts.pip.timeoutSeconds (\(pip.timeoutSeconds) s)")
            }
            throw ArtifactError("pip install -r \(CodeArtifact.requirementsFile) failed (exit \(outcome.exitStatus)): \(Self.lastLines(outcome.outputTail, 12))")
        }
        do {
            try AgentArtifacts.openToSandboxes(staging)
            try files.moveItem(atPath: staging, toPath: layer)
        } catch {
            // Another gateway on this data directory built the same layer meanwhile: theirs is as good.
            guard files.fileExists(atPath: layer) else {
                throw ArtifactError("cannot install the dependency layer: \(error.localizedDescription)")
            }
        }
    }

    /// Removes layers no deployed version uses (and staging left by an interrupted build).
    func removeUnused(keeping inUse: Set<String>) {
        guard ownsDirectory else { return }
        let files = FileManager.default
        for name in (try? files.contentsOfDirectory(atPath: directory)) ?? [] where !name.hasPrefix(".") {
            let path = "\(directory)/\(name)"
            if !inUse.contains(path) { try? files.removeItem(atPath: path) }
        }
    }

    private static func lastLines(_ text: String, _ count: Int) -> String {
        text.split(separator: "\n").suffix(count).joined(separator: "\n")
    }
}
