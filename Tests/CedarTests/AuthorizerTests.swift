import Testing
@testable import Cedar

@Suite("Authorizing requests")
struct AuthorizerTests {
    func decide(_ policies: String, principal: EntityUID = Fixture.alice, action: EntityUID = Fixture.view,
                resource: EntityUID = Fixture.photo, context: [String: Value] = [:]) throws -> Response {
        let request = Request(principal: principal, action: action, resource: resource, context: context)
        return Authorizer.isAuthorized(request, policies: try PolicySet(parsing: policies), entities: try Fixture.entities())
    }

    @Test("nothing permits: default deny with no determining policies")
    func defaultDeny() throws {
        let response = try decide(#"permit(principal == User::"bob", action, resource);"#)
        #expect(response.decision == .deny)
        #expect(response.determiningPolicies.isEmpty)
        #expect(response.errors.isEmpty)
    }

    @Test("satisfied permits allow and are reported")
    func allow() throws {
        let response = try decide("""
            permit(principal in Group::"staff", action, resource);
            permit(principal, action == Action::"view", resource) when { resource.owner == principal };
            permit(principal, action == Action::"edit", resource);
            """)
        #expect(response.decision == .allow)
        #expect(Set(response.determiningPolicies) == ["policy0", "policy1"])
    }

    @Test("a satisfied forbid overrides permits and is the only reason")
    func forbidWins() throws {
        let response = try decide("""
            permit(principal, action, resource);
            forbid(principal, action, resource) when { resource.private };
            """)
        #expect(response.decision == .deny)
        #expect(response.determiningPolicies == ["policy1"])
    }

    @Test("a policy that errors is skipped and its error reported")
    func errorsAreSkipped() throws {
        let response = try decide("""
            permit(principal, action, resource) when { principal.missing };
            forbid(principal, action, resource) when { principal.age + "x" == 1 };
            permit(principal, action, resource) unless { context has locked && context.locked };
            """)
        #expect(response.decision == .allow)
        #expect(response.determiningPolicies == ["policy2"])
        #expect(response.errors.map(\.policyID) == ["policy0", "policy1"])
        #expect(response.errors.map(\.code) == [.attributeNotFound, .typeError])
    }

    @Test("the scope index picks exactly the policies a full scan would")
    func indexMatchesScan() throws {
        var text = ""
        for index in 0..<40 {
            text += #"permit(principal == User::"u\#(index)", action == Action::"view", resource);"# + "\n"
            text += #"permit(principal in Group::"g\#(index % 3)", action in [Action::"view", Action::"edit"], resource is Photo);"# + "\n"
        }
        text += #"forbid(principal is User in Group::"g1", action, resource) when { context.night };"# + "\n"
        let policies = try PolicySet(parsing: text)
        let users = (0..<40).map { EntityUID("User", "u\($0)") }
        let entities = try Entities(users.enumerated().map { Entity(uid: $1, parents: [EntityUID("Group", "g\($0 % 4)")]) })
        for user in users {
            for action in [Fixture.view, Fixture.edit] {
                for night in [true, false] {
                    let request = Request(principal: user, action: action, resource: Fixture.photo, context: ["night": .bool(night)])
                    let indexed = Authorizer.isAuthorized(request, policies: policies, entities: entities)
                    let evaluator = Evaluator(request: request, entities: entities)
                    let scanned = policies.policies.filter { (try? evaluator.evaluate($0.condition)) == .bool(true) }
                    let forbids = scanned.filter { $0.effect == .forbid }.map(\.id)
                    let expected = forbids.isEmpty ? scanned.map(\.id) : forbids
                    #expect(Set(indexed.determiningPolicies) == Set(expected))
                }
            }
        }
    }
}
