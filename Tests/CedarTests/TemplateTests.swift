import Testing
@testable import Cedar

@Suite("Templates and linking")
struct TemplateTests {
    static let text = """
        permit(principal == ?principal, action == Action::"view", resource in ?resource);
        permit(principal, action, resource is Photo);
        """

    @Test("templates are kept apart and linking makes a policy that applies")
    func link() throws {
        var set = try PolicySet(parsing: Self.text)
        #expect(set.templates.map(\.id) == ["policy0"])
        #expect(set.templates[0].slots == [.principal, .resource])
        #expect(set.policies.map(\.id) == ["policy1"])
        try set.link(templateId: "policy0", newId: "alice-photos", slots: [.principal: Fixture.alice, .resource: Fixture.photo])
        let linked = try #require(set["alice-photos"])
        #expect(linked.templateID == "policy0")
        #expect(linked.principal == .equal(.uid(Fixture.alice)))
        let request = Request(principal: Fixture.alice, action: Fixture.view, resource: Fixture.photo)
        let response = Authorizer.isAuthorized(request, policies: set, entities: try Fixture.entities())
        #expect(Set(response.determiningPolicies) == ["alice-photos", "policy1"])
        let other = Request(principal: Fixture.bob, action: Fixture.view, resource: EntityUID("Album", "a"))
        #expect(Authorizer.isAuthorized(other, policies: set, entities: try Fixture.entities()).decision == .deny)
    }

    @Test("linking errors", arguments: [
        ("missing", ["x"], PolicySetError.Code.unknownTemplate),
        ("policy1", ["x"], .notATemplate),
        ("policy0", ["policy1"], .missingSlot),
    ])
    func errors(_ template: String, _ newIDs: [String], _ code: PolicySetError.Code) throws {
        var set = try PolicySet(parsing: Self.text)
        let error = #expect(throws: PolicySetError.self) {
            try set.link(templateId: PolicyID(template), newId: PolicyID(newIDs[0]), slots: [.principal: Fixture.alice])
        }
        #expect(error?.code == code)
    }

    @Test("a new id that is taken is rejected")
    func duplicateID() throws {
        var set = try PolicySet(parsing: Self.text)
        let error = #expect(throws: PolicySetError.self) {
            try set.link(templateId: "policy0", newId: "policy1", slots: [.principal: Fixture.alice, .resource: Fixture.photo])
        }
        #expect(error?.code == .duplicatePolicyID)
    }
}
