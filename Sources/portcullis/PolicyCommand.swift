import ArgumentParser
import Cedar
import Foundation
import PortcullisCore
import PortcullisGateway
import PortcullisPolicy
import PortcullisStore

/// `portcullis policy validate|test|explain`: check a policy directory before it goes live, run policy tests,
/// and explain a recorded decision.
struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Validate Cedar policies, run policy tests, and explain recorded decisions.",
        subcommands: [Validate.self, Test.self, Explain.self]
    )

    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compile a policy directory as the gateway would (parse, link, validate against its schema)."
        )

        @Argument(help: "The policy directory (default: the configuration's policies.directory, else ./policies).")
        var directory: String?

        @Option(name: .long, help: "Configuration file whose policies.directory to check.")
        var config: String?

        func run() async throws {
            let path = try directory ?? config.map { try ConfigurationFile.load(path: $0).policies.directory } ?? PolicyConfiguration().directory
            let bundle: PolicyBundle
            do {
                bundle = try PolicyBundle.compile(try PolicyFiles.read(directory: path))
            } catch {
                for problem in error.problems { printError(problem.description) }
                throw CommandFailure("\(path): \(error.problems.count) problem\(error.problems.count == 1 ? "" : "s"); the gateway would keep its current policies")
            }
            let count = bundle.policies.policies.count
            let templates = bundle.policies.templates.count
            print("\(path): \(count) polic\(count == 1 ? "y" : "ies")\(templates > 0 ? " and \(templates) template\(templates == 1 ? "" : "s")" : "") in \(bundle.files.policies.count) file\(bundle.files.policies.count == 1 ? "" : "s"), valid")
            if bundle.schema == nil {
                print("note: no \(PolicyFiles.schemaFileName), so the policies were parsed but not validated against a schema")
            } else {
                print("validated against \(PolicyFiles.schemaFileName)")
            }
            print("digest \(bundle.digest)")
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run policy tests written in the format of Cedar's integration tests.",
            discussion: """
                FILE.json names "policies" (a .cedar file or a policy directory), "entities" (Cedar entities JSON),
                optionally "schema" and "shouldValidate", and "requests", each with principal, action, resource,
                context and the expected "decision", "reason" (policy ids) and "errors". Paths are relative to FILE.
                """
        )

        @Argument(help: "The test file.")
        var file: String

        @Flag(name: .long, help: "Print each request's decision, reasons and errors as JSON.")
        var json = false

        func run() async throws {
            let run: PolicyTestRun
            do {
                run = try PolicyTestRun.run(testFile: file)
            } catch let failure as PolicyLoadFailure {
                for problem in failure.problems { printError(problem.description) }
                throw CommandFailure("\(file): the policies do not load")
            } catch {
                throw CommandFailure("\(file): \(error)")
            }
            if json {
                try printJSON(run)
            } else {
                if let validation = run.validation {
                    let verdict = validation.problems.isEmpty ? "valid" : "invalid"
                    print("\(validation.passed ? "PASS" : "FAIL") validation: \(verdict), expected \(validation.expected ? "valid" : "invalid")")
                    if !validation.passed { for problem in validation.problems { print("    \(problem)") } }
                }
                for outcome in run.outcomes {
                    let decision = outcome.decision.isAllowed ? "allow" : "deny"
                    if outcome.passed {
                        print("PASS \(outcome.description): \(decision) \(outcome.decision.determiningPolicies.sorted())")
                    } else {
                        print("FAIL \(outcome.description): " + outcome.comparison.problems.joined(separator: "; "))
                    }
                }
                let passed = run.outcomes.filter(\.passed).count
                print("\(passed) of \(run.outcomes.count) requests passed")
            }
            if !run.passed { throw ExitCode(1) }
        }

        private func printJSON(_ run: PolicyTestRun) throws {
            var object: [String: Any] = [
                "passed": run.passed,
                "requests": run.outcomes.map { outcome -> [String: Any] in
                    [
                        "description": outcome.description,
                        "decision": outcome.decision.isAllowed ? "allow" : "deny",
                        "reasons": outcome.decision.determiningPolicies.sorted(),
                        "errors": outcome.decision.errors,
                        "passed": outcome.passed,
                        "expected": [
                            "decision": outcome.comparison.expected.expectedDecision.rawValue,
                            "reasons": outcome.comparison.expected.expectedReasons.sorted(),
                            "errors": outcome.comparison.expected.expectedErrorCount,
                        ] as [String: Any],
                    ]
                },
            ]
            if let validation = run.validation {
                object["validation"] = ["expected": validation.expected, "problems": validation.problems, "passed": validation.passed]
            }
            try CredentialListing.printJSON(object)
        }
    }

    struct Explain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Explain the decisions recorded for a request (its x-amzn-RequestId), or list recent denials."
        )

        @Argument(help: "The request id; omit it to list recent decisions.")
        var requestId: String?

        @OptionGroup var store: StoreOptions

        @Flag(name: .long, help: "With no request id, list allowed decisions too.")
        var all = false

        @Option(name: .long, help: "With no request id, how many decisions to list.")
        var limit = 20

        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func run() async throws {
            let logger = LoggingSetup.logger(level: "warning")
            let database = try store.openStore(logger: logger)
            guard let requestId else {
                return try await list(database)
            }
            let records = try await database.decisions(requestId: requestId)
            guard !records.isEmpty else {
                throw CommandFailure("no decision is recorded for request \(requestId) (decisions are kept for policies.decisionRetentionDays)")
            }
            let directory = try store.configuration().policies.directory
            var current: PolicyBundle?
            var currentProblems: [PolicyProblem] = []
            do {
                current = try PolicyBundle.compile(try PolicyFiles.read(directory: directory))
            } catch {
                currentProblems = error.problems
            }
            var explained: [[String: Any]] = []
            for record in records {
                explained.append(try await explain(record, database: database, current: current))
            }
            if !json, current == nil {
                print("(\(directory) does not compile now — \(currentProblems.count) problem\(currentProblems.count == 1 ? "" : "s"), see `portcullis policy validate` — so the decisions were not evaluated again)")
            }
            if json {
                let output: [String: Any] = explained.count == 1 ? explained[0] : ["decisions": explained]
                try CredentialListing.printJSON(output)
            }
        }

        private func list(_ database: SQLiteStore) async throws {
            guard (1...1000).contains(limit) else { throw ValidationError("--limit must be 1-1000") }
            let records = try await database.recentDecisions(limit: limit, deniedOnly: !all)
            if json {
                try CredentialListing.printJSON(records.map(summary))
                return
            }
            if records.isEmpty { print(all ? "no decisions recorded" : "no denials recorded") }
            for record in records {
                print("\(record.decidedAt.formatted(.iso8601))  \(record.allowed ? "allow" : "DENY ")  \(record.requestId)  \(record.principal)  \(record.action)  \(record.resource)")
            }
        }

        private func summary(_ record: AuthorizationDecisionRecord) -> [String: Any] {
            [
                "requestId": record.requestId, "decidedAt": record.decidedAt.formatted(.iso8601), "principal": record.principal,
                "action": record.action, "resource": record.resource, "decision": record.allowed ? "allow" : "deny",
                "policies": record.policies, "errors": record.errors, "deniedByFailedForbid": record.deniedByFailedForbid,
                "policySet": record.policySet,
            ]
        }

        /// Prints (or returns for JSON) one decision: what was asked, what decided it, and whether the policies in
        /// force now would decide the same.
        private func explain(_ record: AuthorizationDecisionRecord, database: SQLiteStore, current: PolicyBundle?) async throws -> [String: Any] {
            var object = summary(record)
            let recordedSet = try await database.policySet(digest: record.policySet).flatMap(Self.bundle)
            var policies: [[String: Any]] = []
            for id in record.policies {
                var policy: [String: Any] = ["id": id]
                if let recordedSet {
                    policy["location"] = recordedSet.location(of: PolicyID(id)) ?? NSNull()
                    policy["text"] = recordedSet.text(of: PolicyID(id)) ?? NSNull()
                }
                policies.append(policy)
            }
            object["policies"] = policies
            object["request"] = record.request ?? NSNull()
            var replay: AuthorizationDecision?
            if let request = record.request, let entities = record.entities, let current {
                replay = try? PolicyEngine.decide(requestJSON: request, entitiesJSON: entities, with: current)
            }
            if let replay, let current {
                object["now"] = [
                    "policySet": current.digest, "decision": replay.isAllowed ? "allow" : "deny", "policies": replay.determiningPolicies,
                ] as [String: Any]
            }
            if json { return object }

            print("Request \(record.requestId) at \(record.decidedAt.formatted(.iso8601))")
            print("  \(record.principal) → \(record.action) → \(record.resource)")
            print("  decision: \(record.allowed ? "allow" : "deny")\(record.deniedByFailedForbid ? " (a forbid failed to evaluate, so the request was denied)" : "")")
            if record.policies.isEmpty {
                print("  no policy applied: denied by default (nothing permits this request)")
            }
            for policy in policies {
                print("  policy \(policy["id"]!)\((policy["location"] as? String).map { " at \($0)" } ?? ""):")
                if let text = policy["text"] as? String {
                    for line in text.split(separator: "\n", omittingEmptySubsequences: false) { print("    \(line)") }
                }
            }
            for error in record.errors { print("  error: \(error)") }
            if recordedSet == nil { print("  (the policy set \(record.policySet.prefix(12))… is no longer recorded)") }
            if let request = record.request { print("  request: \(request)") }
            if let replay, let current {
                let same = replay.isAllowed == record.allowed && replay.determiningPolicies == record.policies
                print("  with the policies in force now (\(current.digest.prefix(12))…): \(replay.isAllowed ? "allow" : "deny") \(replay.determiningPolicies)\(same ? ", the same" : ", different")")
            } else if current != nil, record.entities == nil {
                print("  (only the decision was recorded for this allowed request; policies.recordAllowed: full keeps the request too)")
            }
            return object
        }

        private static func bundle(_ record: PolicySetRecord) -> PolicyBundle? {
            struct File: Decodable {
                let name: String
                let text: String
            }
            guard let files = try? JSONDecoder().decode([File].self, from: Data(record.files.utf8)) else { return nil }
            var policyFiles = PolicyFiles(policies: [])
            for file in files {
                let source = PolicyFiles.Source(name: file.name, text: file.text)
                if file.name == PolicyFiles.schemaFileName {
                    policyFiles.schema = source
                } else if file.name == PolicyFiles.linksFileName {
                    policyFiles.links = source
                } else {
                    policyFiles.policies.append(source)
                }
            }
            return try? PolicyBundle.compile(policyFiles)
        }
    }
}

private func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
