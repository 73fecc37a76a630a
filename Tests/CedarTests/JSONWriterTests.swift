import Testing
@testable import Cedar

@Suite("Writing Cedar JSON, and what tools need from a policy set")
struct JSONWriterTests {
    @Test("entities written as JSON read back equal, including every value kind")
    func entitiesRoundTrip() throws {
        let original = [
            Entity(
                uid: EntityUID("User", "al\"ice\n"),
                attributes: [
                    "manager": .entity(Fixture.bob),
                    "ip": .ipaddr(IPAddress(parsing: "10.0.0.0/8")!),
                    "v6": .ipaddr(IPAddress(parsing: "::1")!),
                    "budget": .decimal(DecimalValue(parsing: "12.3400")!),
                    "since": .datetime(DatetimeValue(parsing: "2026-12-02T07:30:05.123Z")!),
                    "ancient": .datetime(DatetimeValue(millisecondsSinceEpoch: -70_000_000_000_000)),
                    "ttl": .duration(DurationValue(parsing: "-1h30m")!),
                    "roles": .set(["b", "a"]),
                    "meta": .record(["n": -5, "ok": false, "nested": .record(["x": "\u{1}"])]),
                ],
                parents: [Fixture.admins, Fixture.staff],
                tags: ["level": "high"]
            ),
            Entity(uid: Fixture.admins),
            Entity(uid: Fixture.staff),
        ]
        let text = CedarJSON.text(of: original)
        let read = try Entities(json: text)
        #expect(read.count == 3)
        for entity in original {
            #expect(read[entity.uid] == entity)
        }
        // Sorted members and elements: the same input always gives the same text.
        #expect(CedarJSON.text(of: original.reversed()) == text)
    }

    @Test("a request written as JSON reads back equal")
    func requestRoundTrip() throws {
        let request = Request(
            principal: Fixture.alice, action: Fixture.view, resource: Fixture.photo,
            context: ["time": .datetime(DatetimeValue(parsing: "2026-01-01")!), "ip": .ipaddr(IPAddress(parsing: "192.168.1.2")!), "n": 3]
        )
        #expect(try Request(json: CedarJSON.text(of: request)) == request)
        #expect(throws: JSONError.self) { try Request(json: #"{"principal": {"type": "User"}}"#) }
    }

    @Test("datetimes print as the ISO form datetime() reads, outside 0000-9999 as milliseconds")
    func datetimeText() throws {
        let instant = try #require(DatetimeValue(parsing: "2024-02-29T23:59:59.999Z"))
        #expect(instant.iso8601 == "2024-02-29T23:59:59.999Z")
        #expect(DatetimeValue(parsing: instant.iso8601!) == instant)
        #expect(DatetimeValue(millisecondsSinceEpoch: -1).iso8601 == "1969-12-31T23:59:59.999Z")
        #expect(DatetimeValue(millisecondsSinceEpoch: 0).iso8601 == "1970-01-01T00:00:00.000Z")
        #expect(DatetimeValue(millisecondsSinceEpoch: 300_000_000_000_000).iso8601 == nil)
    }

    @Test("policies from several files share a set with prefixed ids; duplicates are refused")
    func prefixedNamingAndUnion() throws {
        var combined = try PolicySet(parsing: """
            permit(principal, action, resource);
            @id("named") forbid(principal, action, resource);
            """, fileName: "a.cedar", naming: .idAnnotationOrPrefixed("a.cedar/"))
        let other = try PolicySet(parsing: "permit(principal == ?principal, action, resource);\npermit(principal, action, resource);",
                                  fileName: "b.cedar", naming: .idAnnotationOrPrefixed("b.cedar/"))
        try combined.formUnion(other)
        #expect(combined.policies.map(\.id.rawValue) == ["a.cedar/policy0", "named", "b.cedar/policy1"])
        #expect(combined.templates.map(\.id.rawValue) == ["b.cedar/policy0"])
        #expect(throws: PolicySetError.self) { try combined.formUnion(other) }
    }

    @Test("a policy knows where it ends, so tools can quote it")
    func endLocation() throws {
        let set = try PolicySet(parsing: "// c\n@id(\"x\")\npermit(principal, action, resource)\nwhen { true };\n  forbid(principal, action, resource);")
        let first = try #require(set.policies.first)
        #expect(first.location == SourceLocation(line: 2, column: 1))
        #expect(first.endLocation == SourceLocation(line: 4, column: 14))
        #expect(set.policies[1].location == SourceLocation(line: 5, column: 3))
        #expect(set.policies[1].endLocation == SourceLocation(line: 5, column: 38))
    }

    @Test("a policy test file reads the integration-test format and compares responses")
    func policyTestFile() throws {
        let file = try PolicyTestFile(json: """
            {"policies": "p.cedar", "entities": "e.json", "schema": "s.cedarschema", "shouldValidate": true,
             "requests": [{"description": "alice views", "principal": {"type": "User", "id": "alice"},
                           "action": {"type": "Action", "id": "view"}, "resource": {"type": "Photo", "id": "beach.jpg"},
                           "context": {"n": 1}, "decision": "allow", "reason": ["policy0"], "errors": []}]}
            """)
        #expect(file.policies == "p.cedar")
        #expect(file.schema == "s.cedarschema")
        #expect(file.shouldValidate == true)
        let testCase = try #require(file.cases.first)
        #expect(try testCase.request(schema: nil).context == ["n": 1])
        let pass = testCase.compare(Response(decision: .allow, determiningPolicies: ["policy0"], errors: []))
        #expect(pass.passed)
        let fail = testCase.compare(Response(decision: .deny, determiningPolicies: [], errors: []))
        #expect(!fail.passed)
        #expect(fail.problems.count == 2)
        #expect(throws: JSONError.self) { try PolicyTestFile(json: #"{"policies": "p", "entities": "e", "requests": [{"decision": "maybe"}]}"#) }
    }
}
