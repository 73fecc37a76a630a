import Testing
@testable import Cedar

@Suite("Parsing schemas")
struct SchemaTests {
    @Test("namespaces, common types, hierarchy, tags, enums and action groups")
    func fullSchema() throws {
        let schema = try Schema(parsing: """
            type Address = { city: String, zip?: String };
            namespace Acme {
                type Tags = Set<String>;
                @doc("people")
                entity User in [Team] = { address: Address, labels: Tags, "quoted name"?: Long } tags String;
                entity Team in Org;
                entity Org;
                entity Color enum ["red", "green"];
                action read;
                action "write file" in [read] appliesTo {
                    principal: [User, Team],
                    resource: Org,
                    context: { ip: __cedar::ipaddr }
                };
            }
            """)
        let user = try #require(schema.entityTypes[EntityType("Acme::User")])
        #expect(user.ancestors == [EntityType("Acme::Team"), EntityType("Acme::Org")])
        #expect(user.tags == .string)
        #expect(user.attributes.attributes["labels"]?.type == .set(.string))
        #expect(user.attributes.attributes["quoted name"]?.isRequired == false)
        #expect(user.attributes.attributes["address"]?.type == .record(RecordType(attributes: [
            "city": AttributeType(type: .string, isRequired: true), "zip": AttributeType(type: .string, isRequired: false),
        ])))
        #expect(schema.entityTypes[EntityType("Acme::Color")]?.enumIDs == ["red", "green"])
        let write = try #require(schema.actions[EntityUID("Acme::Action", "write file")])
        #expect(write.principals == [EntityType("Acme::User"), EntityType("Acme::Team")])
        #expect(write.ancestors == [EntityUID("Acme::Action", "read")])
        #expect(write.context.attributes["ip"]?.type == .ext(.ipaddr))
        #expect(schema.isValid(EntityUID("Acme::Color", "red")))
        #expect(!schema.isValid(EntityUID("Acme::Color", "blue")))
    }

    @Test("errors carry the position", arguments: [
        ("entity User = { age: Lung };", SchemaError.Code.undeclaredType),
        ("entity User in [Missing];", .undeclaredType),
        ("entity User; entity User;", .duplicateDeclaration),
        ("type A = B; type B = A; entity E = { a: A };", .cyclicTypeDefinition),
        ("action a in [b];", .undeclaredAction),
        ("entity User = { age: Long }", .syntax),
    ])
    func errors(_ text: String, _ code: SchemaError.Code) {
        let error = #expect(throws: SchemaError.self) { try Schema(parsing: text, fileName: "agents.cedarschema") }
        #expect(error?.code == code)
        #expect(error?.description.hasPrefix("agents.cedarschema:1:") == true)
    }
}
