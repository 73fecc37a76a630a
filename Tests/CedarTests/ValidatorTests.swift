import Testing
@testable import Cedar

@Suite("Validating policies and requests")
struct ValidatorTests {
    static let schema = """
        entity Group;
        entity User in [Group] = { age: Long, email?: String, tags: Set<String> };
        entity Photo = { owner: User, private: Bool } tags String;
        entity Level enum ["low", "high"];
        action view, edit appliesTo { principal: [User], resource: [Photo], context: { ip: ipaddr, mfa?: Bool } };
        action admin appliesTo { principal: [Group], resource: [Photo] };
        """

    func errors(_ policies: String) throws -> [ValidationError] {
        Validator(schema: try Schema(parsing: Self.schema)).validate(try PolicySet(parsing: policies))
    }

    @Test("well-typed policies validate", arguments: [
        #"permit(principal, action == Action::"view", resource) when { principal.age >= 18 && resource.owner == principal };"#,
        #"permit(principal in Group::"g", action, resource) when { principal has email && principal.email like "*@acme.com" };"#,
        #"permit(principal, action, resource) when { context has mfa && context.mfa && context.ip.isInRange(ip("10.0.0.0/8")) };"#,
        #"permit(principal, action, resource) when { resource.hasTag("x") && resource.getTag("x") == "y" };"#,
        #"permit(principal, action, resource) when { if principal is User then principal.tags.contains("a") else false };"#,
        #"forbid(principal, action in [Action::"view", Action::"edit"], resource) unless { resource.private };"#,
        #"permit(principal, action, resource) when { false && principal.nonexistent };"#,
    ])
    func valid(_ policy: String) throws {
        #expect(try errors(policy).isEmpty)
    }

    @Test("policies that do not fit the schema are reported", arguments: [
        (#"permit(principal, action, resource) when { principal.email == "a" };"#, ValidationError.Code.typeError),
        (#"permit(principal, action, resource) when { principal.height > 1 };"#, .typeError),
        (#"permit(principal, action, resource) when { principal.age == "1" };"#, .typeError),
        (#"permit(principal, action, resource) when { [] == principal.tags };"#, .typeError),
        (#"permit(principal, action, resource) when { [1, "a"].contains(1) };"#, .typeError),
        (#"permit(principal, action, resource) when { context.ip == ip(principal.email) };"#, .typeError),
        (#"permit(principal, action, resource) when { resource.getTag("x") == "y" };"#, .typeError),
        (#"permit(principal == Robot::"r", action, resource);"#, .unrecognizedEntityType),
        (#"permit(principal, action == Action::"delete", resource);"#, .unrecognizedActionID),
        (#"permit(principal, action, resource) when { Level::"medium" == Level::"low" };"#, .invalidEnumEntity),
        (#"permit(principal == Group::"g", action == Action::"view", resource);"#, .invalidActionApplication),
    ])
    func invalid(_ policy: String, _ code: ValidationError.Code) throws {
        let found = try errors(policy)
        #expect(found.contains { $0.code == code }, "\(found)")
        #expect(found.allSatisfy { $0.policyID == "policy0" })
    }

    @Test("a condition that is always false is not an error")
    func impossibleCondition() throws {
        #expect(try errors(#"permit(principal, action, resource) when { principal is Photo };"#).isEmpty)
    }

    @Test("requests are checked against appliesTo and the context type")
    func requests() throws {
        let validator = Validator(schema: try Schema(parsing: Self.schema))
        let ip: Value = .ipaddr(IPAddress(parsing: "10.0.0.1")!)
        let good = Request(principal: Fixture.alice, action: Fixture.view, resource: Fixture.photo, context: ["ip": ip])
        #expect(validator.validate(good).isEmpty)
        var wrongPrincipal = good
        wrongPrincipal.principal = Fixture.photo
        #expect(validator.validate(wrongPrincipal).map(\.code) == [.invalidPrincipalType])
        var wrongContext = good
        wrongContext.context = ["ip": "10.0.0.1"]
        #expect(validator.validate(wrongContext).map(\.code) == [.invalidContext])
        var extraContext = good
        extraContext.context = ["ip": ip, "other": 1]
        #expect(validator.validate(extraContext).map(\.code) == [.invalidContext])
        var unknownAction = good
        unknownAction.action = EntityUID("Action", "fly")
        #expect(validator.validate(unknownAction).map(\.code) == [.unrecognizedActionID])
    }
}
