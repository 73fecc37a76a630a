import Testing
@testable import Cedar

@Suite("Evaluating expressions")
struct EvaluatorTests {
    @Test("&& and || short-circuit before type-checking the right operand")
    func shortCircuit() throws {
        #expect(try Fixture.evaluate("false && 1") == false)
        #expect(try Fixture.evaluate("true || 1") == true)
        #expect(try Fixture.evaluationError("true && 1") == .typeError)
        #expect(try Fixture.evaluationError("1 && true") == .typeError)
    }

    @Test("arithmetic overflows are errors")
    func overflow() throws {
        #expect(try Fixture.evaluate("9223372036854775807 - 1 + 1") == .long(Int64.max))
        #expect(try Fixture.evaluationError("9223372036854775807 + 1") == .overflow)
        #expect(try Fixture.evaluationError("-9223372036854775808 * -1") == .overflow)
        #expect(try Fixture.evaluationError("-(-9223372036854775808)") == .overflow)
    }

    @Test("comparisons need longs (or datetimes/durations of one kind)")
    func comparisons() throws {
        #expect(try Fixture.evaluate("1 < 2 && 2 <= 2 && 3 > 2 && 3 >= 3") == true)
        #expect(try Fixture.evaluate(#"datetime("2024-01-01") < datetime("2024-01-02")"#) == true)
        #expect(try Fixture.evaluate(#"duration("1h") >= duration("60m")"#) == true)
        #expect(try Fixture.evaluationError(#""a" < "b""#) == .typeError)
        #expect(try Fixture.evaluationError(#"decimal("1.0") < decimal("2.0")"#) == .typeError)
    }

    @Test("== compares across types without error")
    func equality() throws {
        #expect(try Fixture.evaluate(#"1 == "1""#) == false)
        #expect(try Fixture.evaluate("[1, 2, 2] == [2, 1]") == true)
        #expect(try Fixture.evaluate("{a: 1, b: [true]} == {b: [true], a: 1}") == true)
        #expect(try Fixture.evaluate(#"ip("10.0.0.1") != ip("10.0.0.1/32")"#) == false)
        #expect(try Fixture.evaluate(#"decimal("1.50") == decimal("1.5")"#) == true)
    }

    @Test("in follows the hierarchy transitively and reflexively, and accepts sets")
    func membership() throws {
        #expect(try Fixture.evaluate(#"principal in Group::"staff""#) == true)
        #expect(try Fixture.evaluate(#"principal in principal"#) == true)
        #expect(try Fixture.evaluate(#"User::"ghost" in User::"ghost""#) == true)
        #expect(try Fixture.evaluate(#"User::"ghost" in Group::"staff""#) == false)
        #expect(try Fixture.evaluate(#"principal in [User::"bob", Group::"admins"]"#) == true)
        #expect(try Fixture.evaluationError(#"principal in [1]"#) == .typeError)
        #expect(try Fixture.evaluationError(#"1 in Group::"staff""#) == .typeError)
    }

    @Test("attribute access and has, on entities and records")
    func attributes() throws {
        #expect(try Fixture.evaluate("principal.age") == 30)
        #expect(try Fixture.evaluate(#"principal["name"]"#) == "Alice")
        #expect(try Fixture.evaluate("resource.owner.name") == "Alice")
        #expect(try Fixture.evaluate("principal has age && !(principal has email)") == true)
        #expect(try Fixture.evaluate(#"User::"ghost" has age"#) == false)
        #expect(try Fixture.evaluationError("principal.email") == .attributeNotFound)
        #expect(try Fixture.evaluationError(#"User::"ghost".age"#) == .entityDoesNotExist)
        #expect(try Fixture.evaluationError("{a: 1}.b") == .attributeNotFound)
        #expect(try Fixture.evaluationError("1 has a") == .typeError)
    }

    @Test("tags")
    func tags() throws {
        #expect(try Fixture.evaluate(#"principal.hasTag("level") && principal.getTag("level") == "high""#) == true)
        #expect(try Fixture.evaluate(#"User::"ghost".hasTag("level")"#) == false)
        #expect(try Fixture.evaluationError(#"principal.getTag("missing")"#) == .tagNotFound)
        #expect(try Fixture.evaluationError(#"principal.getTag(1)"#) == .typeError)
    }

    @Test("like matches wildcards; \\* is a literal star")
    func like() throws {
        #expect(try Fixture.evaluate(#""photo.jpg" like "*.jpg""#) == true)
        #expect(try Fixture.evaluate(#""a*b" like "a\*b""#) == true)
        #expect(try Fixture.evaluate(#""axb" like "a\*b""#) == false)
        #expect(try Fixture.evaluate(#""" like "*""#) == true)
        #expect(try Fixture.evaluate(#""abcabd" like "*ab*d""#) == true)
        #expect(try Fixture.evaluate(#""é" like "?""#) == false)
    }

    @Test("is, if-then-else and set methods")
    func miscellaneous() throws {
        #expect(try Fixture.evaluate("principal is User && !(resource is User)") == true)
        #expect(try Fixture.evaluate("if principal.age > 18 then \"adult\" else 1 + true") == "adult")
        #expect(try Fixture.evaluationError("if 1 then 2 else 3") == .typeError)
        #expect(try Fixture.evaluate("[1, 2, 3].contains(2) && [1, 2].containsAll([2]) && [1].containsAny([3, 1])") == true)
        #expect(try Fixture.evaluate("[].isEmpty() && ![1].isEmpty()") == true)
        #expect(try Fixture.evaluationError("[1].containsAll(1)") == .typeError)
    }
}
