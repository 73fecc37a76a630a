/// Agent code deployed as a `codeConfiguration`: where the code comes from, the language runtime and the entry point.
public struct CodeArtifact: Sendable, Equatable, Codable {
    /// Where the code is read from when a version is deployed; the gateway keeps its own copy per version.
    public enum Source: Sendable, Equatable, Codable {
        /// A directory or a `.zip` file on the gateway's machine.
        case path(String)
    }

    public var source: Source
    /// The AgentCore runtime name, `PYTHON_3_10` … `PYTHON_3_14`.
    public var runtime: String
    /// One or two elements: the Python file to run, optionally preceded by a wrapper program from the dependencies
    /// (`["opentelemetry-instrument", "main.py"]`).
    public var entryPoint: [String]

    public init(source: Source, runtime: String, entryPoint: [String]) {
        self.source = source
        self.runtime = runtime
        self.entryPoint = entryPoint
    }

    /// The runtimes AgentCore names; which of them a host can run depends on the interpreters installed.
    public static let runtimes = ["PYTHON_3_10", "PYTHON_3_11", "PYTHON_3_12", "PYTHON_3_13", "PYTHON_3_14"]

    /// The interpreter name for a runtime: `PYTHON_3_11` → `python3.11`.
    public static func interpreterName(of runtime: String) -> String? {
        guard runtimes.contains(runtime) else { return nil }
        return "python" + String(runtime.dropFirst("PYTHON_".count).map { $0 == "_" ? "." : $0 })
    }

    /// Where the runtime's interpreter is on the host (and, `/usr` being shared read-only, in every sandbox).
    public static func interpreterPath(of runtime: String) -> String? {
        interpreterName(of: runtime).map { "/usr/bin/\($0)" }
    }

    /// Checks the entry point: one or two relative names without `..`, control characters or leading `-`.
    public static func validateEntryPoint(_ entryPoint: [String], field: String) throws(AgentCoreError) {
        guard (1...2).contains(entryPoint.count) else {
            throw AgentCoreError.invalidField(field, "Member must have 1 or 2 elements")
        }
        for element in entryPoint {
            let parts = element.split(separator: "/", omittingEmptySubsequences: false)
            let valid = (1...128).contains(element.utf8.count) && !element.hasPrefix("/") && !element.hasPrefix("-")
                && !parts.contains("..") && !parts.contains("") && element.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value != 0x7F }
            guard valid else {
                throw AgentCoreError.invalidField(field, "Each element must be a relative file name of 1-128 characters without '..' or spaces")
            }
        }
    }
}
