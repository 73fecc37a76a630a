public import Foundation

/// The text of a policy directory: every `*.cedar` file (in subdirectories too, sorted by path), the optional
/// `schema.cedarschema`, and the optional `links.json` of template-linked policies.
///
/// Hidden files and directories are skipped, which also skips the `..data` indirection of a Kubernetes
/// ConfigMap volume while its top-level symlinks are followed. Sizes are bounded so a mistaken directory
/// cannot exhaust memory.
public struct PolicyFiles: Sendable, Equatable {
    public static let schemaFileName = "schema.cedarschema"
    public static let linksFileName = "links.json"
    public static let maxFileBytes = 4 << 20
    public static let maxTotalBytes = 32 << 20
    public static let maxFiles = 2_000
    static let maxDepth = 4

    /// A file's path relative to the directory and its text.
    public struct Source: Sendable, Equatable {
        public var name: String
        public var text: String

        public init(name: String, text: String) {
            self.name = name
            self.text = text
        }
    }

    public var policies: [Source]
    public var schema: Source?
    public var links: Source?

    public init(policies: [Source], schema: Source? = nil, links: Source? = nil) {
        self.policies = policies.sorted { $0.name < $1.name }
        self.schema = schema
        self.links = links
    }

    /// Reads a directory.
    public static func read(directory: String) throws(PolicyLoadFailure) -> PolicyFiles {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw PolicyLoadFailure([PolicyProblem(file: directory, message: "is not a directory; the gateway needs its policies (see docs/policies.md)")])
        }
        var reader = DirectoryReader(root: URL(fileURLWithPath: directory, isDirectory: true))
        try reader.walk(reader.root, relative: "", depth: 0)
        guard reader.problems.isEmpty else { throw PolicyLoadFailure(reader.problems) }
        return PolicyFiles(policies: reader.policies, schema: reader.schema, links: reader.links)
    }

    /// Every file, policies first, as the digest and the decision log see them.
    public var all: [Source] { policies + [schema, links].compactMap { $0 } }
}

private struct DirectoryReader {
    let root: URL
    var policies: [PolicyFiles.Source] = []
    var schema: PolicyFiles.Source?
    var links: PolicyFiles.Source?
    var problems: [PolicyProblem] = []
    var totalBytes = 0

    init(root: URL) {
        self.root = root
    }

    mutating func walk(_ directory: URL, relative: String, depth: Int) throws(PolicyLoadFailure) {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        } catch {
            throw PolicyLoadFailure([PolicyProblem(file: relative.isEmpty ? root.path : relative, message: "cannot be listed")])
        }
        for name in names where !name.hasPrefix(".") {
            let url = directory.appendingPathComponent(name)
            let path = relative.isEmpty ? name : relative + "/" + name
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { continue }
            if isDirectory.boolValue {
                guard depth + 1 < PolicyFiles.maxDepth else {
                    problems.append(PolicyProblem(file: path, message: "is nested deeper than \(PolicyFiles.maxDepth) levels"))
                    continue
                }
                try walk(url, relative: path, depth: depth + 1)
                continue
            }
            let isSchema = path == PolicyFiles.schemaFileName
            let isLinks = path == PolicyFiles.linksFileName
            guard isSchema || isLinks || name.hasSuffix(".cedar") else { continue }
            guard policies.count < PolicyFiles.maxFiles else {
                problems.append(PolicyProblem(file: path, message: "more than \(PolicyFiles.maxFiles) policy files"))
                return
            }
            guard let source = read(url, name: path) else { continue }
            if isSchema {
                schema = source
            } else if isLinks {
                links = source
            } else {
                policies.append(source)
            }
        }
    }

    private mutating func read(_ url: URL, name: String) -> PolicyFiles.Source? {
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            problems.append(PolicyProblem(file: name, message: "cannot be read"))
            return nil
        }
        defer { try? handle.close() }
        // One byte more than allowed tells an oversized file from one exactly at the limit.
        let data = (try? handle.read(upToCount: PolicyFiles.maxFileBytes + 1)) ?? Data()
        guard data.count <= PolicyFiles.maxFileBytes else {
            problems.append(PolicyProblem(file: name, message: "is larger than \(PolicyFiles.maxFileBytes) bytes"))
            return nil
        }
        totalBytes += data.count
        guard totalBytes <= PolicyFiles.maxTotalBytes else {
            problems.append(PolicyProblem(file: name, message: "the policy directory holds more than \(PolicyFiles.maxTotalBytes) bytes"))
            return nil
        }
        guard let text = String(data: data, encoding: .utf8) else {
            problems.append(PolicyProblem(file: name, message: "is not UTF-8 text"))
            return nil
        }
        return PolicyFiles.Source(name: name, text: text)
    }
}
