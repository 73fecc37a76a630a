extension Value: CustomStringConvertible {
    /// The value written as a Cedar expression, for messages.
    public var description: String {
        switch self {
        case .bool(let value): return value ? "true" : "false"
        case .long(let value): return String(value)
        case .string(let value): return quotedCedarString(value)
        case .entity(let uid): return uid.description
        case .set(let elements):
            // Sorting keeps messages stable although sets are unordered.
            return "[" + elements.map(\.description).sorted().joined(separator: ", ") + "]"
        case .record(let fields):
            let rendered = fields.keys.sorted().map { "\(quotedCedarString($0)): \(fields[$0]!.description)" }
            return "{" + rendered.joined(separator: ", ") + "}"
        case .ipaddr(let value): return "ip(\(quotedCedarString(value.description)))"
        case .decimal(let value): return "decimal(\(quotedCedarString(value.description)))"
        case .datetime(let value): return "datetime(\(quotedCedarString(value.description)))"
        case .duration(let value): return "duration(\(quotedCedarString(value.description)))"
        }
    }

    /// The name of the value's type as Cedar error messages spell it.
    var typeName: String {
        switch self {
        case .bool: return "bool"
        case .long: return "long"
        case .string: return "string"
        case .entity(let uid): return "(entity of type `\(uid.type.name)`)"
        case .set: return "set"
        case .record: return "record"
        case .ipaddr: return "ipaddr"
        case .decimal: return "decimal"
        case .datetime: return "datetime"
        case .duration: return "duration"
        }
    }
}

/// Renders a string as a Cedar string literal, escaping what the lexer would not read back verbatim.
func quotedCedarString(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        case "\0": result += "\\0"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F {
                result += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
    }
    return result + "\""
}
