import Testing
@testable import Cedar

@Suite("Parsing policies")
struct ParserTests {
    @Test("policies are numbered policy0, policy1, … in file order")
    func sequentialIDs() throws {
        let set = try PolicySet(parsing: """
            @id("first") permit(principal, action, resource);
            forbid(principal, action, resource) when { context.locked };
            """)
        #expect(set.policies.map(\.id) == ["policy0", "policy1"])
        #expect(set.policies[0].annotations["id"] == "first")
        #expect(set.policies[1].effect == .forbid)
    }

    @Test("idAnnotation naming uses @id where present")
    func annotatedIDs() throws {
        let set = try PolicySet(parsing: """
            @id("first") permit(principal, action, resource);
            permit(principal, action, resource);
            """, naming: .idAnnotation)
        #expect(set.policies.map(\.id) == ["first", "policy1"])
    }

    @Test("a duplicate @id is a parse error under idAnnotation naming")
    func duplicateAnnotatedIDs() {
        #expect(throws: CedarParseError.self) {
            try PolicySet(parsing: """
                @id("x") permit(principal, action, resource);
                @id("x") permit(principal, action, resource);
                """, naming: .idAnnotation)
        }
    }

    @Test("scope constraints of every form")
    func scopes() throws {
        let set = try PolicySet(parsing: """
            permit(principal == User::"alice", action in [Action::"view", Action::"edit"], resource is Photo in Album::"trip");
            permit(principal in Group::"admins", action == Action::"view", resource);
            permit(principal is User, action in Action::"read", resource == Acme::Docs::File::"a");
            """)
        #expect(set.policies[0].principal == .equal(.uid(Fixture.alice)))
        #expect(set.policies[0].action == .memberOfAny([Fixture.view, Fixture.edit]))
        #expect(set.policies[0].resource == .isTypeMemberOf(EntityType("Photo"), .uid(EntityUID("Album", "trip"))))
        #expect(set.policies[1].principal == .memberOf(.uid(Fixture.admins)))
        #expect(set.policies[2].principal == .isType(EntityType("User")))
        #expect(set.policies[2].action == .memberOf(EntityUID("Action", "read")))
        #expect(set.policies[2].resource == .equal(.uid(EntityUID("Acme::Docs::File", "a"))))
    }

    @Test("an error names the file, line and column and what was expected")
    func errorMessage() throws {
        let error = try #require(Fixture.parseError("""
            permit(principal, action, resource)
            permit(principal, action, resource);
            """))
        #expect(error.description == "policies/agents.cedar:2:1: expected ';' after the policy, found 'permit'")
        #expect(error.line == 2)
        #expect(error.column == 1)
        #expect(error.code == .unexpectedToken)
    }

    @Test("malformed input is rejected", arguments: [
        "permit(principal, action, resource) when { 1 < 2 < 3 };",
        "permit(principal, action, resource) when { 9223372036854775808 == 0 };",
        "permit(principal, action, resource) when { foo(1) };",
        "permit(principal, action, resource) when { [1].frobnicate() };",
        "permit(principal, action, resource) when { {a: 1, a: 2} == {} };",
        "permit(principal, action, resource) when { \"\\q\" == \"\" };",
        "permit(principal, action, resource) when { !!!!!true };",
        "permit(principal == ?resource, action, resource);",
        "permit(principal, action, resource) when { principal == ?principal };",
        "permit(principal, action is Action, resource);",
        "@a(\"1\") @a(\"2\") permit(principal, action, resource);",
        "permit(principal, action, resource) when { \"unterminated };",
    ])
    func rejected(_ text: String) {
        #expect(Fixture.parseError(text) != nil)
    }

    @Test("the most negative long is a literal")
    func negativeLiteral() throws {
        #expect(try Fixture.evaluate("-9223372036854775808") == .long(Int64.min))
        #expect(try Fixture.evaluate("--3") == .long(3))
    }

    @Test("string escapes decode as in Cedar")
    func escapes() throws {
        #expect(try Fixture.evaluate(#""a\n\t\"\\\0\u{1F600}""#) == .string("a\n\t\"\\\0\u{1F600}"))
    }

    @Test("`has a.b` means `has a && .a has b`")
    func hasChain() throws {
        #expect(try Fixture.evaluate("context has a.b", context: ["a": .record(["b": 1])]) == true)
        #expect(try Fixture.evaluate("context has a.b", context: ["a": .record([:])]) == false)
        #expect(try Fixture.evaluate("context has a.b", context: [:]) == false)
    }

    @Test("nesting deeper than the limit is a clear error, not a crash")
    func depthLimit() throws {
        let depth = PolicyParser.maximumNesting + 1
        let nested = String(repeating: "(", count: depth) + "true" + String(repeating: ")", count: depth)
        let error = try #require(Fixture.parseError("permit(principal, action, resource) when { \(nested) };"))
        #expect(error.code == .nestingTooDeep)
        let chain = Array(repeating: "1", count: PolicyParser.maximumExpressionHeight + 5).joined(separator: " + ")
        #expect(Fixture.parseError("permit(principal, action, resource) when { \(chain) == 0 };")?.code == .nestingTooDeep)
    }

    @Test("expressions at the depth limit parse and evaluate")
    func depthWithinLimit() throws {
        let depth = PolicyParser.maximumNesting - 1
        let nested = String(repeating: "(", count: depth) + "1" + String(repeating: ")", count: depth)
        #expect(try Fixture.evaluate(nested) == 1)
        let chain = Array(repeating: "1", count: PolicyParser.maximumExpressionHeight - 10).joined(separator: " + ")
        #expect(try Fixture.evaluate(chain) == .long(Int64(PolicyParser.maximumExpressionHeight - 10)))
    }

    @Test("comments and annotations without values are accepted")
    func commentsAndBareAnnotations() throws {
        let set = try PolicySet(parsing: """
            // leading comment
            @advice
            permit(principal, action, resource) // trailing
            unless { false };
            """)
        #expect(set.policies[0].annotations["advice"] == "")
    }
}
