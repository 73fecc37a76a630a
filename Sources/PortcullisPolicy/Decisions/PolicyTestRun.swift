public import Cedar
import Foundation

/// `portcullis policy test FILE.json`: an administrator's policy tests, in the format of Cedar's integration tests.
///
/// Paths in the file are relative to it. `policies` is a `.cedar` file (ids `policy0`, `policy1`, … as in
/// Cedar's own tests) or a policy directory (the gateway's ids: `@id`, else `<file>/policy<N>`); `schema` is
/// optional and otherwise the directory's `schema.cedarschema`. Requests are decided as the gateway decides
/// them, including its one departure from Cedar (a failed forbid denies), and with the gateway's action groups
/// added to the entities when the file does not define them.
public struct PolicyTestRun: Sendable {
    /// One request's decision next to what the test expects.
    public struct Outcome: Sendable {
        public let decision: AuthorizationDecision
        public let comparison: PolicyTestComparison

        public var description: String { comparison.expected.description }
        public var passed: Bool { comparison.passed }
    }

    /// The validation verdict, when the file says whether the policies should validate.
    public struct ValidationOutcome: Sendable {
        public let expected: Bool
        public let problems: [String]
        public var passed: Bool { expected == problems.isEmpty }
    }

    public let validation: ValidationOutcome?
    public let outcomes: [Outcome]

    public var passed: Bool { (validation?.passed ?? true) && outcomes.allSatisfy(\.passed) }

    /// Reads and runs the test file at `path`.
    public static func run(testFile path: String) throws -> PolicyTestRun {
        let fileURL = URL(fileURLWithPath: path)
        let base = fileURL.deletingLastPathComponent()
        let test = try PolicyTestFile(json: try read(fileURL))
        let policiesURL = URL(fileURLWithPath: test.policies, relativeTo: base).standardizedFileURL
        var isDirectory: ObjCBool = false
        FileManager.default.fileExists(atPath: policiesURL.path, isDirectory: &isDirectory)
        var files: PolicyFiles
        let ids: PolicyBundle.PolicyIds
        if isDirectory.boolValue {
            files = try PolicyFiles.read(directory: policiesURL.path)
            ids = .perFile
        } else {
            files = PolicyFiles(policies: [PolicyFiles.Source(name: test.policies, text: try read(policiesURL))])
            ids = .sequential
        }
        if let schemaPath = test.schema {
            files.schema = PolicyFiles.Source(name: schemaPath, text: try read(URL(fileURLWithPath: schemaPath, relativeTo: base)))
        }
        // Validation is judged separately below, so compile without it and validate on the side.
        var unvalidated = files
        unvalidated.schema = nil
        let bundle = try PolicyBundle.compile(unvalidated, ids: ids)
        var validation: ValidationOutcome?
        var schema: Schema?
        if let source = files.schema {
            schema = try Schema(parsing: source.text, fileName: source.name)
        }
        if let expected = test.shouldValidate {
            let problems: [String]
            do {
                _ = try PolicyBundle.compile(files, ids: ids)
                problems = []
            } catch {
                problems = error.problems.map(\.description)
            }
            validation = ValidationOutcome(expected: expected, problems: problems)
        }
        var entities = Array(try Entities(json: try read(URL(fileURLWithPath: test.entities, relativeTo: base)), schema: schema).all)
        let defined = Set(entities.map(\.uid))
        entities += GatewayAction.entities.filter { !defined.contains($0.uid) }
        let store = try Entities(entities)
        var outcomes: [Outcome] = []
        for testCase in test.cases {
            let request = try testCase.request(schema: schema)
            let decision = PolicyEngine.decide(request, entities: store, with: bundle)
            outcomes.append(Outcome(decision: decision, comparison: testCase.compare(decision.response)))
        }
        return PolicyTestRun(validation: validation, outcomes: outcomes)
    }

    private static func read(_ url: URL) throws -> String {
        do {
            return try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw PolicyLoadFailure([PolicyProblem(file: url.path, message: "cannot be read")])
        }
    }
}
