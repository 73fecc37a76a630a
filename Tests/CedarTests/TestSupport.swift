@testable import Cedar

/// Shorthands shared by the unit tests.
enum Fixture {
    static let alice = EntityUID("User", "alice")
    static let bob = EntityUID("User", "bob")
    static let admins = EntityUID("Group", "admins")
    static let staff = EntityUID("Group", "staff")
    static let view = EntityUID("Action", "view")
    static let edit = EntityUID("Action", "edit")
    static let photo = EntityUID("Photo", "beach.jpg")

    static func entities() throws -> Entities {
        try Entities([
            Entity(uid: alice, attributes: ["age": 30, "name": "Alice"], parents: [admins], tags: ["level": "high"]),
            Entity(uid: bob, attributes: ["age": 17], parents: []),
            Entity(uid: admins, parents: [staff]),
            Entity(uid: staff),
            Entity(uid: photo, attributes: ["owner": .entity(alice), "private": true]),
        ])
    }

    /// Evaluates one expression with alice viewing the photo.
    static func evaluate(_ source: String, context: [String: Value] = [:]) throws -> Value {
        var parser = try PolicyParser(text: source, fileName: "expr")
        let expr = try parser.parseExpression().expr
        let request = Request(principal: alice, action: view, resource: photo, context: context)
        return try Evaluator(request: request, entities: entities()).evaluate(expr)
    }

    /// The code of the error that evaluating `source` raises, or nil if it succeeds.
    static func evaluationError(_ source: String) throws -> EvaluationError.Code? {
        do {
            _ = try evaluate(source)
            return nil
        } catch let failure as EvaluationFailure {
            return failure.code
        }
    }

    static func parseError(_ text: String) -> CedarParseError? {
        do {
            _ = try PolicySet(parsing: text, fileName: "policies/agents.cedar")
            return nil
        } catch {
            return error
        }
    }
}
