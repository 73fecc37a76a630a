import Foundation
import Testing
@testable import Cedar

/// Runs Cedar's JSON conformance tests (cedar-integration-tests format) against this module.
///
/// Conventions are those of the upstream harnesses: reasons compare as sets, errors by count,
/// a policy file that fails to parse means every request is expected to be denied with no
/// reasons, and `shouldValidate` is compared with the strict validator's verdict.
enum Conformance {
    /// The folder holding `Package.swift`, found by walking up from this source file.
    static let packageRoot: URL = {
        var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
            directory = directory.deletingLastPathComponent()
        }
        return directory
    }()

    /// `../shared/testdata/cedar` beside the package, where paths inside the test files start.
    static let dataRoot = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/testdata/cedar")

    struct Mismatch: CustomStringConvertible {
        let file: String
        let request: String
        let detail: String

        var key: String { "\(file)#\(request)" }
        var description: String { "\(file) [\(request)]: \(detail)" }
    }

    struct Tally {
        var files = 0
        var requests = 0
        var decisions = 0
        var reasons = 0
        var errors = 0
        var validations = 0
        var requestsFailingValidation = 0
        var unparsedPolicyFiles = 0
        var mismatches: [Mismatch] = []

        mutating func add(_ other: Tally) {
            files += other.files
            requests += other.requests
            decisions += other.decisions
            reasons += other.reasons
            errors += other.errors
            validations += other.validations
            requestsFailingValidation += other.requestsFailingValidation
            unparsedPolicyFiles += other.unparsedPolicyFiles
            mismatches += other.mismatches
        }

        func summary(_ suite: String) -> String {
            "\(suite): decisions \(decisions)/\(requests), reasons \(reasons)/\(requests), errors \(errors)/\(requests), "
                + "validation \(validations)/\(files), requests failing request validation \(requestsFailingValidation), "
                + "policy files that do not parse \(unparsedPolicyFiles)"
        }
    }

    static func read(_ relativePath: String, in root: URL) throws -> String {
        try String(contentsOf: root.appendingPathComponent(relativePath), encoding: .utf8)
    }

    /// Runs one test file whose inner paths are relative to `root`; `name` identifies it in reports.
    static func run(testFile path: URL, name: String, root: URL = dataRoot) throws -> Tally {
        let test = try PolicyTestFile(json: String(contentsOf: path, encoding: .utf8))
        var tally = Tally(files: 1)
        let policies: PolicySet?
        do {
            policies = try PolicySet(parsing: read(test.policies, in: root), fileName: test.policies)
        } catch is CedarParseError {
            policies = nil
            tally.unparsedPolicyFiles += 1
        }
        let schemaPath = try #require(test.schema)
        let schema = try Schema(parsing: read(schemaPath, in: root), fileName: schemaPath)
        let entities = try Entities(json: read(test.entities, in: root), schema: schema)
        let validator = Validator(schema: schema)

        if let shouldValidate = test.shouldValidate {
            let errors = policies.map(validator.validate) ?? []
            let valid = policies != nil && errors.isEmpty
            if valid == shouldValidate {
                tally.validations += 1
            } else {
                tally.mismatches.append(Mismatch(
                    file: name, request: "shouldValidate",
                    detail: "expected shouldValidate \(shouldValidate), validator said \(errors.isEmpty ? "valid" : errors.map(\.description).joined(separator: "; "))"
                ))
            }
        }

        for testCase in test.cases {
            tally.requests += 1
            let request = try testCase.request(schema: schema)
            if testCase.validateRequest, !validator.validate(request).isEmpty {
                tally.requestsFailingValidation += 1
            }
            // A policy file that does not parse authorizes nothing, as in the upstream harnesses.
            let response = policies.map { Authorizer.isAuthorized(request, policies: $0, entities: entities) }
                ?? Response(decision: .deny, determiningPolicies: [], errors: [])
            let comparison = testCase.compare(response)
            if comparison.decisionMatches { tally.decisions += 1 }
            if comparison.reasonsMatch { tally.reasons += 1 }
            if comparison.errorsMatch { tally.errors += 1 }
            if !comparison.passed {
                tally.mismatches.append(Mismatch(file: name, request: testCase.description, detail: comparison.problems.joined(separator: "; ")))
            }
        }
        return tally
    }
}
