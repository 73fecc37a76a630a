/// Turns JSON into Cedar values, guided by a schema type when there is one.
///
/// Without a type, only the explicit escapes `{"__entity": …}` and `{"__extn": …}` make entities
/// and extension values. With a type, the implicit forms also work: `{"type", "id"}` for an entity,
/// and a plain string (or `{"fn", "arg"}`) for an extension value such as `"10.0.0.1"` for `ipaddr`.
struct JSONValueDecoder {
    /// Describes where the value sits, for messages (`attribute "owner" of User::"alice"`).
    let place: String

    func decode(_ json: JSONValue, as type: CedarType?) throws(JSONError) -> Value {
        guard let type else { return try decodeUntyped(json) }
        switch (type, json) {
        case (.bool, .bool(let flag)): return .bool(flag)
        case (.long, .integer(let number)): return .long(number)
        case (.string, .string(let text)): return .string(text)
        case (.entity(let entityType), _):
            let uid = try Self.entityUID(from: json["__entity"] ?? json, place: place)
            guard uid.type == entityType else {
                throw JSONError(code: .typeMismatch, message: "\(place): expected an entity of type \(entityType), found \(uid)")
            }
            return .entity(uid)
        case (.set(let element), .array(let elements)):
            var values = Set<Value>()
            for item in elements { values.insert(try decode(item, as: element)) }
            return .set(values)
        case (.record(let record), .object(let members)):
            var values: [String: Value] = [:]
            for (key, value) in members {
                guard let attribute = record.attributes[key] else {
                    throw JSONError(code: .typeMismatch, message: "\(place): attribute \(quotedCedarString(key)) is not declared in the schema")
                }
                values[key] = try JSONValueDecoder(place: "\(place), attribute \(quotedCedarString(key))").decode(value, as: attribute.type)
            }
            for (key, attribute) in record.attributes where attribute.isRequired && values[key] == nil {
                throw JSONError(code: .typeMismatch, message: "\(place): required attribute \(quotedCedarString(key)) is missing")
            }
            return .record(values)
        case (.ext(let extensionType), _):
            let value: Value
            if case .string(let text) = json {
                value = try Self.extensionValue(function: extensionType.constructor.rawValue, argument: text, place: place)
            } else {
                value = try decodeExtension(json["__extn"] ?? json)
            }
            guard value.extensionType == extensionType else {
                throw JSONError(code: .typeMismatch, message: "\(place): expected \(extensionType.rawValue), found \(value.typeName)")
            }
            return value
        default:
            throw JSONError(code: .typeMismatch, message: "\(place): expected a value of type \(type), found \(json.kindName)")
        }
    }

    private func decodeUntyped(_ json: JSONValue) throws(JSONError) -> Value {
        switch json {
        case .bool(let flag): return .bool(flag)
        case .integer(let number): return .long(number)
        case .string(let text): return .string(text)
        case .array(let elements):
            var values = Set<Value>()
            for item in elements { values.insert(try decodeUntyped(item)) }
            return .set(values)
        case .object(let members):
            if members.count == 1, let escaped = json["__entity"] {
                return .entity(try Self.entityUID(from: escaped, place: place))
            }
            if members.count == 1, let escaped = json["__extn"] {
                return try decodeExtension(escaped)
            }
            var values: [String: Value] = [:]
            for (key, value) in members {
                values[key] = try JSONValueDecoder(place: "\(place), attribute \(quotedCedarString(key))").decodeUntyped(value)
            }
            return .record(values)
        case .null, .fraction:
            throw JSONError(code: .unexpectedShape, message: "\(place): \(json.kindName) is not a Cedar value")
        }
    }

    /// Reads `{"fn": "ip", "arg": "…"}`, or `{"fn": "offset", "args": [ … ]}` for functions of several arguments.
    private func decodeExtension(_ json: JSONValue) throws(JSONError) -> Value {
        guard case .string(let function)? = json["fn"] else {
            throw JSONError(code: .unexpectedShape, message: "\(place): an extension value needs a string member \"fn\"")
        }
        if case .string(let argument)? = json["arg"] {
            return try Self.extensionValue(function: function, argument: argument, place: place)
        }
        guard case .array(let items)? = json["args"] else {
            throw JSONError(code: .unexpectedShape, message: "\(place): an extension value needs \"arg\" or \"args\"")
        }
        guard let callee = ExtensionFunction(rawValue: function), callee.arity == items.count else {
            throw JSONError(code: .invalidExtensionValue, message: "\(place): \(quotedCedarString(function)) is not an extension function of \(items.count) arguments")
        }
        var arguments: [Value] = []
        for item in items { arguments.append(try decodeUntyped(item)) }
        do {
            return try callee.apply(to: arguments)
        } catch {
            throw JSONError(code: .invalidExtensionValue, message: "\(place): \(error.message)")
        }
    }

    static func extensionValue(function: String, argument: String, place: String) throws(JSONError) -> Value {
        guard let constructor = ExtensionFunction(rawValue: function), constructor.isConstructor else {
            throw JSONError(code: .invalidExtensionValue, message: "\(place): unknown extension function \(quotedCedarString(function))")
        }
        do {
            return try constructor.apply(to: [.string(argument)])
        } catch {
            throw JSONError(code: .invalidExtensionValue, message: "\(place): \(error.message)")
        }
    }

    /// Reads `{"type": "User", "id": "alice"}`.
    static func entityUID(from json: JSONValue, place: String) throws(JSONError) -> EntityUID {
        guard case .string(let type)? = json["type"], case .string(let id)? = json["id"] else {
            throw JSONError(code: .unexpectedShape, message: "\(place): expected an entity reference {\"type\": …, \"id\": …}")
        }
        return EntityUID(type: EntityType(type), id: id)
    }
}

private extension Value {
    var extensionType: ExtensionType? {
        switch self {
        case .ipaddr: return .ipaddr
        case .decimal: return .decimal
        case .datetime: return .datetime
        case .duration: return .duration
        default: return nil
        }
    }
}
