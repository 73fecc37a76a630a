/// A Cedar type, as declared in a schema or inferred by the typechecker.
indirect enum CedarType: Hashable, Sendable {
    /// Booleans, with the typechecker's knowledge of the value when it has any.
    case bool(BoolType)
    case long
    case string
    case entity(EntityType)
    case set(CedarType)
    case record(RecordType)
    case ext(ExtensionType)

    static let anyBool = CedarType.bool(.any)
}

/// What the typechecker knows about a boolean.
enum BoolType: Hashable, Sendable {
    case any, alwaysTrue, alwaysFalse
}

/// The extension types.
enum ExtensionType: String, Hashable, Sendable {
    case ipaddr, decimal, datetime, duration

    /// The function that makes values of this type from strings.
    var constructor: ExtensionFunction {
        switch self {
        case .ipaddr: return .ip
        case .decimal: return .decimal
        case .datetime: return .datetime
        case .duration: return .duration
        }
    }
}

/// A record type: attribute names with their types and whether they must be present.
struct RecordType: Hashable, Sendable {
    var attributes: [String: AttributeType]

    static let empty = RecordType(attributes: [:])
}

/// One attribute of a record or entity type.
struct AttributeType: Hashable, Sendable {
    var type: CedarType
    var isRequired: Bool
}

extension CedarType: CustomStringConvertible {
    var description: String {
        switch self {
        case .bool(.any): return "Bool"
        case .bool(.alwaysTrue): return "True"
        case .bool(.alwaysFalse): return "False"
        case .long: return "Long"
        case .string: return "String"
        case .entity(let type): return type.name
        case .set(let element): return "Set<\(element)>"
        case .record(let record):
            let fields = record.attributes.keys.sorted().map { key in
                let attribute = record.attributes[key]!
                return "\(key)\(attribute.isRequired ? "" : "?"): \(attribute.type)"
            }
            return "{" + fields.joined(separator: ", ") + "}"
        case .ext(let type): return type.rawValue
        }
    }
}
