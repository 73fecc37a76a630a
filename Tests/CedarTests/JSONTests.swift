import Testing
@testable import Cedar

@Suite("Entities and context JSON")
struct JSONTests {
    @Test("explicit __entity and __extn escapes without a schema")
    func explicitForms() throws {
        let entities = try Entities(json: #"""
            [{"uid": {"type": "User", "id": "alice"},
              "attrs": {"manager": {"__entity": {"type": "User", "id": "bob"}},
                        "ip": {"__extn": {"fn": "ip", "arg": "10.0.0.1"}},
                        "start": {"__extn": {"fn": "offset", "args": [{"__extn": {"fn": "datetime", "arg": "1970-01-01"}}, {"__extn": {"fn": "duration", "arg": "1s"}}]}},
                        "roles": ["a", "b"], "meta": {"n": 1, "ok": true}},
              "parents": [{"type": "Group", "id": "g"}],
              "tags": {"t": "v"}}]
            """#)
        let alice = try #require(entities[Fixture.alice])
        #expect(alice.attributes["manager"] == .entity(Fixture.bob))
        #expect(alice.attributes["ip"] == .ipaddr(IPAddress(parsing: "10.0.0.1")!))
        #expect(alice.attributes["start"] == .datetime(DatetimeValue(millisecondsSinceEpoch: 1_000)))
        #expect(alice.attributes["roles"] == .set(["a", "b"]))
        #expect(alice.attributes["meta"] == .record(["n": 1, "ok": true]))
        #expect(alice.parents == [EntityUID("Group", "g")])
        #expect(alice.tags["t"] == "v")
    }

    @Test("with a schema, implicit entity and extension forms follow the declared types")
    func implicitForms() throws {
        let schema = try Schema(parsing: """
            entity User = { manager?: User, ip: ipaddr, budget: decimal };
            action view appliesTo { principal: User, resource: User, context: { when: datetime } };
            """)
        let entities = try Entities(json: #"""
            [{"uid": {"type": "User", "id": "alice"}, "parents": [],
              "attrs": {"manager": {"type": "User", "id": "bob"}, "ip": "10.0.0.1", "budget": "1.50"}}]
            """#, schema: schema)
        let alice = try #require(entities[Fixture.alice])
        #expect(alice.attributes["manager"] == .entity(Fixture.bob))
        #expect(alice.attributes["budget"] == .decimal(DecimalValue(parsing: "1.5")!))
        #expect(entities[EntityUID("Action", "view")] != nil)
        let context = try Request.context(json: #"{"when": "2024-01-01"}"#, schema: schema, action: EntityUID("Action", "view"))
        #expect(context["when"] == .datetime(DatetimeValue(parsing: "2024-01-01")!))
    }

    @Test("values that do not fit the schema are rejected with the attribute named")
    func schemaMismatch() throws {
        let schema = try Schema(parsing: "entity User = { age: Long };")
        let error = #expect(throws: JSONError.self) {
            try Entities(json: #"[{"uid": {"type": "User", "id": "a"}, "attrs": {"age": "old"}, "parents": []}]"#, schema: schema)
        }
        #expect(error?.message.contains("\"age\"") == true)
    }

    @Test("malformed JSON is a syntax error", arguments: [#"[{"uid": }]"#, "[1,]", #"{"a": 1"#, "[01x]", "\"\\x\""])
    func syntax(_ text: String) {
        #expect(throws: JSONError.self) { try Entities(json: text) }
    }

    @Test("JSON string escapes including surrogate pairs")
    func stringEscapes() throws {
        guard case .string(let text) = try JSONParser.parse(#""\u0000\n\ud83d\ude00\/""#) else {
            Issue.record("expected a string")
            return
        }
        #expect(text == "\0\n\u{1F600}/")
    }
}
