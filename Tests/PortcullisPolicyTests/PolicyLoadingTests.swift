import Cedar
import Foundation
import Testing
@testable import PortcullisPolicy

@Suite("Loading a policy directory")
struct PolicyLoadingTests {
    private func compile(_ files: [String: String], withShipped: Bool = true) throws -> PolicyBundle {
        let directory = try PolicyFixtures.directory(withShipped: withShipped, files)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try PolicyBundle.compile(try PolicyFiles.read(directory: directory.path))
    }

    private func problems(_ files: [String: String], withShipped: Bool = true) throws -> [String] {
        do {
            _ = try compile(files, withShipped: withShipped)
            Issue.record("expected the directory to be refused")
            return []
        } catch let failure as PolicyLoadFailure {
            return failure.problems.map(\.description)
        }
    }

    @Test("a syntax error names file, line and column")
    func syntaxError() throws {
        let found = try problems(["team/broken.cedar": "permit (principal, action, resource)\nwhen { principal.x == };\n"])
        #expect(found == ["team/broken.cedar:2:23: expected an expression, found '}'"])
    }

    @Test("a policy that does not fit the schema is refused with its location")
    func validationError() throws {
        let found = try problems(["typo.cedar": "\n\n  permit (principal is User, action == Action::\"InvokeAgent\", resource) when { principal.grups.contains(\"x\") };"])
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("typo.cedar:3:3: policy 'typo.cedar/policy0':") == true)
    }

    @Test("every broken file is reported, not just the first")
    func allProblems() throws {
        let found = try problems(["a.cedar": "permit(", "b.cedar": "forbid (principal, action, resource) when { 1 + };"])
        #expect(found.count == 2)
        #expect(found[0].hasPrefix("a.cedar:1:"))
        #expect(found[1].hasPrefix("b.cedar:1:"))
    }

    @Test("ids are unique across files")
    func duplicateIds() throws {
        let found = try problems([
            "one.cedar": #"@id("grant") permit (principal, action, resource);"#,
            "two.cedar": "\n" + #"@id("grant") forbid (principal, action, resource);"#,
        ], withShipped: false)
        #expect(found == ["two.cedar:2:1: the policy id 'grant' is already used in one.cedar"])
    }

    @Test("a schema missing the gateway's actions is refused")
    func incompleteSchema() throws {
        let found = try problems(["schema.cedarschema": "entity User; action InvokeAgent appliesTo { principal: User, resource: User };"], withShipped: false)
        #expect(found.contains("schema.cedarschema: the schema does not declare Action::\"StreamAgent\", which the gateway uses"))
        #expect(found.contains("schema.cedarschema: the schema does not declare the entity type Agent, which the gateway uses"))
    }

    @Test("templates are linked from links.json")
    func links() throws {
        let bundle = try compile([
            "grants.cedar": #"@id("user-uses-agent") permit (principal == ?principal, action in Action::"UseAgent", resource == ?resource);"#,
            "links.json": #"[{"id": "alice-uses-lab", "template": "user-uses-agent", "principal": {"type": "User", "id": "https://idp.example|alice"}, "resource": {"type": "Agent", "id": "lab"}}]"#,
        ])
        let engine = PolicyEngine(bundle)
        let decision = engine.authorize(PolicyFixtures.request(PolicyFixtures.user("alice"), .invokeAgent, PolicyFixtures.agent("lab")))
        #expect(decision.isAllowed)
        #expect(decision.determiningPolicies == ["alice-uses-lab"])
        #expect(bundle.text(of: "alice-uses-lab")?.hasPrefix(#"@id("user-uses-agent")"#) == true)
        #expect(!engine.authorize(PolicyFixtures.request(PolicyFixtures.user("bob"), .invokeAgent, PolicyFixtures.agent("lab"))).isAllowed)
        let found = try problems(["links.json": #"[{"id": "x", "template": "nope"}]"#])
        #expect(found == ["links.json: link #1 ('x'): no template with id 'nope'"])
    }

    @Test("hidden files and non-policy files are ignored; oversized files are refused")
    func fileSelection() throws {
        let bundle = try compile([".draft.cedar": "not cedar", "notes.txt": "hello", "..data/x.cedar": "also not cedar"])
        #expect(bundle.files.policies.map(\.name) == ["administrators.cedar", "agents.cedar", "vault.cedar"])
        let found = try problems(["huge.cedar": String(repeating: "//", count: PolicyFiles.maxFileBytes / 2 + 1)])
        #expect(found == ["huge.cedar: is larger than \(PolicyFiles.maxFileBytes) bytes"])
    }

    @Test("the digest changes with any file and only then")
    func digest() throws {
        let first = try compile([:])
        let same = try compile([:])
        let other = try compile(["extra.cedar": "// only a comment"])
        #expect(first.digest == same.digest)
        #expect(first.digest != other.digest)
        #expect(first.digest.count == 64)
    }
}
