extension Entities {
    /// Reads Cedar's entities JSON: an array of `{"uid", "attrs", "parents", "tags"}` objects.
    ///
    /// With a schema, attribute and tag values are read as their declared types (so implicit
    /// entity and extension forms work), and the schema's actions, with their groups, are added.
    public init(json text: String, schema: Schema? = nil) throws(JSONError) {
        guard case .array(let items) = try JSONParser.parse(text) else {
            throw JSONError(code: .unexpectedShape, message: "entities JSON must be an array")
        }
        var entities: [EntityUID: Entity] = [:]
        for (position, item) in items.enumerated() {
            guard let uidJSON = item["uid"] else {
                throw JSONError(code: .unexpectedShape, message: "entity #\(position) has no \"uid\"")
            }
            let uid = try JSONValueDecoder.entityUID(from: uidJSON["__entity"] ?? uidJSON, place: "entity #\(position)")
            let definition = schema?.entityTypes[uid.type]
            var attributes: [String: Value] = [:]
            if case .object(let members)? = item["attrs"] {
                let record = definition.map { CedarType.record($0.attributes) }
                if case .record(let values) = try JSONValueDecoder(place: "entity `\(uid)`").decode(.object(members), as: record) {
                    attributes = values
                }
            }
            var parents: Set<EntityUID> = []
            if case .array(let parentItems)? = item["parents"] {
                for parent in parentItems {
                    parents.insert(try JSONValueDecoder.entityUID(from: parent["__entity"] ?? parent, place: "a parent of `\(uid)`"))
                }
            }
            var tags: [String: Value] = [:]
            if case .object(let members)? = item["tags"] {
                let tagType = definition?.tags
                for (key, value) in members {
                    tags[key] = try JSONValueDecoder(place: "tag \(quotedCedarString(key)) of `\(uid)`").decode(value, as: tagType)
                }
            }
            guard entities.updateValue(Entity(uid: uid, attributes: attributes, parents: parents, tags: tags), forKey: uid) == nil else {
                throw JSONError(code: .duplicateEntity, message: "entity `\(uid)` is defined more than once")
            }
        }
        if let schema {
            for (uid, action) in schema.actions {
                entities[uid, default: Entity(uid: uid)].parents.formUnion(action.parents)
            }
        }
        do {
            try self.init(entities.values)
        } catch {
            throw JSONError(code: .duplicateEntity, message: error.message)
        }
    }
}
