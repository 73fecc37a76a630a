import Testing
@testable import Cedar

@Suite("Entity stores")
struct EntitiesTests {
    @Test("ancestors are computed transitively, once")
    func ancestors() throws {
        let entities = try Fixture.entities()
        #expect(entities.ancestors(of: Fixture.alice) == [Fixture.admins, Fixture.staff])
        #expect(entities.isDescendant(Fixture.alice, of: Fixture.staff))
        #expect(!entities.isDescendant(Fixture.staff, of: Fixture.alice))
        #expect(entities.ancestors(of: EntityUID("User", "ghost")).isEmpty)
    }

    @Test("cycles in the hierarchy terminate")
    func cycles() throws {
        let a = EntityUID("G", "a")
        let b = EntityUID("G", "b")
        let entities = try Entities([Entity(uid: a, parents: [b]), Entity(uid: b, parents: [a])])
        #expect(entities.ancestors(of: a) == [a, b])
    }

    @Test("duplicate uids are rejected")
    func duplicates() {
        #expect(throws: EntitiesError.self) {
            try Entities([Entity(uid: Fixture.alice), Entity(uid: Fixture.alice)])
        }
    }
}
