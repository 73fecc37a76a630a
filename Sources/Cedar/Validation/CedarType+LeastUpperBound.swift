extension CedarType {
    /// The most precise type covering both, under strict validation: entity types never merge,
    /// and records merge only when they have the same attributes with the same optionality.
    func leastUpperBound(_ other: CedarType) -> CedarType? {
        switch (self, other) {
        case (.bool(let a), .bool(let b)):
            return .bool(a == b ? a : .any)
        case (.set(let a), .set(let b)):
            return a.leastUpperBound(b).map(CedarType.set)
        case (.record(let a), .record(let b)):
            guard Set(a.attributes.keys) == Set(b.attributes.keys) else { return nil }
            var merged: [String: AttributeType] = [:]
            for (key, left) in a.attributes {
                let right = b.attributes[key]!
                guard left.isRequired == right.isRequired, let type = left.type.leastUpperBound(right.type) else { return nil }
                merged[key] = AttributeType(type: type, isRequired: left.isRequired)
            }
            return .record(RecordType(attributes: merged))
        default:
            return self == other ? self : nil
        }
    }
}
