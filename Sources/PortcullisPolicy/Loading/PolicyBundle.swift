public import Cedar
import Crypto
import Foundation
import PortcullisCore

/// A policy directory compiled into one Cedar policy set: parsed, linked, validated against the schema when
/// there is one, and identified by the SHA-256 of its files so decisions can name the exact set that made them.
///
/// Policy ids are the `@id("…")` annotation when a policy has one, otherwise `<file>/policy<N>` (N counting the
/// file's policies from 0). Ids must be unique across the directory.
public struct PolicyBundle: Sendable {
    public let policies: PolicySet
    public let schema: Schema?
    public let files: PolicyFiles
    /// Hex SHA-256 over the files' names and texts.
    public let digest: String
    /// Which file each policy and template came from.
    let origins: [PolicyID: String]

    /// How policies without `@id` are named.
    public enum PolicyIds: Sendable {
        /// `@id` when present, otherwise `<file>/policy<N>`: the gateway's ids, unique across a directory.
        case perFile
        /// `policy0`, `policy1`, … in file order, whatever the annotations say: Cedar's own ids, which its
        /// integration tests expect. Only for a single file.
        case sequential
    }

    /// Compiles `files`, reporting every problem found rather than the first.
    public static func compile(_ files: PolicyFiles, ids: PolicyIds = .perFile) throws(PolicyLoadFailure) -> PolicyBundle {
        var problems: [PolicyProblem] = []
        var schema: Schema?
        if let source = files.schema {
            do {
                let parsed = try Schema(parsing: source.text, fileName: source.name)
                schema = parsed
                if ids == .perFile { problems += missingDeclarations(in: parsed, file: source.name) }
            } catch {
                problems.append(PolicyProblem(file: source.name, line: error.location.line, column: error.location.column, message: error.message))
            }
        }
        var combined = PolicySet()
        var origins: [PolicyID: String] = [:]
        for source in files.policies {
            let parsed: PolicySet
            do {
                let naming: PolicySet.Naming = ids == .perFile ? .idAnnotationOrPrefixed(source.name + "/") : .sequential
                parsed = try PolicySet(parsing: source.text, fileName: source.name, naming: naming)
            } catch {
                problems.append(PolicyProblem(file: source.name, line: error.line, column: error.column, message: error.message))
                continue
            }
            for policy in parsed.templates + parsed.policies {
                if let other = origins[policy.id] {
                    problems.append(PolicyProblem(
                        file: source.name, line: policy.location.line, column: policy.location.column,
                        message: "the policy id '\(policy.id)' is already used in \(other)"
                    ))
                } else {
                    origins[policy.id] = source.name
                }
            }
            do {
                try combined.formUnion(parsed)
            } catch {
                continue  // reported above, with the location
            }
        }
        if let links = files.links {
            problems += PolicyLinks.apply(links, to: &combined, origins: &origins)
        }
        if let schema {
            for error in Validator(schema: schema).validate(combined) {
                problems.append(locate(error, in: combined, origins: origins))
            }
        }
        guard problems.isEmpty else { throw PolicyLoadFailure(problems) }
        return PolicyBundle(policies: combined, schema: schema, files: files, digest: digest(of: files), origins: origins)
    }

    /// The file a policy came from.
    public func file(of id: PolicyID) -> String? { origins[id] }

    /// A policy as written in its file, from its first annotation to its `;`; for a linked policy, its template.
    public func text(of id: PolicyID) -> String? {
        guard let policy = policies[id], let file = origins[policy.templateID ?? id],
              let source = files.policies.first(where: { $0.name == file }) else { return nil }
        return Self.excerpt(source.text, from: policy.location, to: policy.endLocation)
    }

    /// `file:line:column` of a policy.
    public func location(of id: PolicyID) -> String? {
        guard let policy = policies[id], let file = origins[id] else { return nil }
        return "\(file):\(policy.location.line):\(policy.location.column)"
    }

    static func excerpt(_ text: String, from start: SourceLocation, to end: SourceLocation) -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard start.line >= 1, end.line <= lines.count, start.line <= end.line else { return "" }
        var result: [String] = []
        for number in start.line...end.line {
            var scalars = Array(lines[number - 1].unicodeScalars)
            if number == end.line { scalars = Array(scalars.prefix(end.column)) }
            if number == start.line { scalars = Array(scalars.dropFirst(start.column - 1)) }
            var line = String.UnicodeScalarView()
            line.append(contentsOf: scalars)
            result.append(String(line))
        }
        return result.joined(separator: "\n")
    }

    private static func locate(_ error: ValidationError, in policies: PolicySet, origins: [PolicyID: String]) -> PolicyProblem {
        guard let id = error.policyID, let policy = policies[id] else {
            return PolicyProblem(file: PolicyFiles.schemaFileName, message: error.message)
        }
        let file = origins[id] ?? PolicyFiles.linksFileName
        return PolicyProblem(file: file, line: policy.location.line, column: policy.location.column, message: "policy '\(id)': \(error.message)")
    }

    /// The schema must declare what the gateway sends, or validation would pass policies that never match.
    private static func missingDeclarations(in schema: Schema, file: String) -> [PolicyProblem] {
        let declared = Set(schema.actionIDs)
        let needed = GatewayAction.allCases.map(\.uid) + GatewayAction.Group.allCases.map(\.uid)
        let types = Set(schema.entityTypeNames)
        let neededTypes = [
            PolicyEntityType.user, PolicyEntityType.group, PolicyEntityType.tenant, PolicyEntityType.apiKey, PolicyEntityType.accessKey,
            PolicyEntityType.agent, PolicyEntityType.agentGroup, PolicyEntityType.gateway,
        ]
        var problems = needed.filter { !declared.contains($0) }.map {
            PolicyProblem(file: file, message: "the schema does not declare \($0), which the gateway uses")
        }
        problems += neededTypes.filter { !types.contains($0) }.map {
            PolicyProblem(file: file, message: "the schema does not declare the entity type \($0), which the gateway uses")
        }
        return problems
    }

    static func digest(of files: PolicyFiles) -> String {
        var hash = SHA256()
        for source in files.all {
            // Length-prefixed, so no two different directories hash the same.
            for part in [source.name, source.text] {
                let bytes = Array(part.utf8)
                withUnsafeBytes(of: UInt64(bytes.count).bigEndian) { hash.update(bufferPointer: $0) }
                hash.update(data: bytes)
            }
        }
        return Hex.encode(hash.finalize())
    }
}
