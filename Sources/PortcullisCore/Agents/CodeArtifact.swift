/// Agent code deployed as a `codeConfiguration`: where the code comes from, the language runtime and the entry point.
public struct CodeArtifact: Sendable, Equatable, Codable {
    /// Where the code is read from when a version is deployed; the gateway keeps its own copy per version.
    public enum Source: Sendable, Equatable, Codable {
        /// A directory or a `.zip` file on the gateway's machine.
        case path(String)
        /// A `.zip` file fetched over HTTP(S) (`artifacts.urlPrefixes` says which URLs the control plane may name).
        case url(String)
        /// A `.zip` object in S3-compatible storage (`artifacts.s3`), fetched with a SigV4-signed GET.
        case s3(S3ObjectLocation)

        /// How the source shows in messages: the path, the URL without its query, or `s3://bucket/key`.
        public var displayName: String {
            switch self {
            case .path(let path): path
            case .url(let url): String(url.prefix { $0 != "?" && $0 != "#" })
            case .s3(let location): "s3://\(location.bucket)/\(location.key)"
            }
        }
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

    /// The file a dependency layer is built from, at the top of the code.
    public static let requirementsFile = "requirements.txt"

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

/// An object in S3-compatible storage: the wire's `codeConfiguration.code.s3` (`prefix` is the object's key).
public struct S3ObjectLocation: Sendable, Equatable, Codable {
    public var bucket: String
    public var key: String
    public var versionId: String?

    public init(bucket: String, key: String, versionId: String? = nil) {
        self.bucket = bucket
        self.key = key
        self.versionId = versionId
    }

    /// Checks the names the way S3 does: bucket 3-63 lowercase letters, digits, dots and hyphens; key 1-1024 bytes
    /// without control characters; version id 1-1024 printable characters.
    public static func validated(bucket: String, key: String, versionId: String?, field: String) throws(AgentCoreError) -> S3ObjectLocation {
        let bucketBytes = Array(bucket.utf8)
        let bucketValid = (3...63).contains(bucketBytes.count)
            && bucketBytes.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x2D }
            && bucketBytes.first != 0x2E && bucketBytes.first != 0x2D && bucketBytes.last != 0x2E && bucketBytes.last != 0x2D
        guard bucketValid else {
            throw AgentCoreError.invalidField("\(field).bucket", "Member must be 3-63 lowercase letters, digits, dots and hyphens")
        }
        guard (1...1024).contains(key.utf8.count), key.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else {
            throw AgentCoreError.invalidField("\(field).prefix", "Member must be the object's key, 1-1024 bytes without control characters")
        }
        if let versionId {
            guard (1...1024).contains(versionId.utf8.count), versionId.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
                throw AgentCoreError.invalidField("\(field).versionId", "Member must be 1-1024 printable characters")
            }
        }
        return S3ObjectLocation(bucket: bucket, key: key, versionId: versionId)
    }
}
