/// Writes Cedar values, entities and contexts in Cedar's JSON formats, the inverse of `Entities(json:)` and
/// `Request.context(json:)`: entity references as `{"__entity": …}`, extension values as `{"__extn": …}`.
/// Object members and set elements are sorted, so equal inputs give equal text.
public enum CedarJSON {
    /// An entities JSON array.
    public static func text(of entities: some Sequence<Entity>) -> String {
        var output = "["
        for (position, entity) in entities.sorted(by: { $0.uid.description < $1.uid.description }).enumerated() {
            if position > 0 { output += "," }
            write(entity, to: &output)
        }
        return output + "]"
    }

    /// A request as `{"principal", "action", "resource", "context"}`, which `Request(json:)` reads back.
    public static func text(of request: Request) -> String {
        var output = "{\"principal\":"
        write(request.principal, to: &output)
        output += ",\"action\":"
        write(request.action, to: &output)
        output += ",\"resource\":"
        write(request.resource, to: &output)
        output += ",\"context\":"
        write(.record(request.context), to: &output)
        return output + "}"
    }

    /// A context (or any record) as a JSON object.
    public static func text(of record: [String: Value]) -> String {
        var output = ""
        write(.record(record), to: &output)
        return output
    }

    /// One value.
    public static func text(of value: Value) -> String {
        var output = ""
        write(value, to: &output)
        return output
    }

    static func write(_ entity: Entity, to output: inout String) {
        output += "{\"uid\":"
        write(entity.uid, to: &output)
        output += ",\"attrs\":"
        write(.record(entity.attributes), to: &output)
        output += ",\"parents\":["
        for (position, parent) in entity.parents.sorted(by: { $0.description < $1.description }).enumerated() {
            if position > 0 { output += "," }
            write(parent, to: &output)
        }
        output += "]"
        if !entity.tags.isEmpty {
            output += ",\"tags\":"
            write(.record(entity.tags), to: &output)
        }
        output += "}"
    }

    static func write(_ uid: EntityUID, to output: inout String) {
        output += "{\"type\":"
        writeString(uid.type.name, to: &output)
        output += ",\"id\":"
        writeString(uid.id, to: &output)
        output += "}"
    }

    static func write(_ value: Value, to output: inout String) {
        switch value {
        case .bool(let flag): output += flag ? "true" : "false"
        case .long(let number): output += String(number)
        case .string(let text): writeString(text, to: &output)
        case .entity(let uid):
            output += "{\"__entity\":"
            write(uid, to: &output)
            output += "}"
        case .set(let elements):
            output += "["
            let rendered = elements.map { element -> String in
                var text = ""
                write(element, to: &text)
                return text
            }
            output += rendered.sorted().joined(separator: ",")
            output += "]"
        case .record(let fields):
            output += "{"
            for (position, key) in fields.keys.sorted().enumerated() {
                if position > 0 { output += "," }
                writeString(key, to: &output)
                output += ":"
                write(fields[key]!, to: &output)
            }
            output += "}"
        case .ipaddr(let address): writeExtension("ip", address.description, to: &output)
        case .decimal(let number): writeExtension("decimal", number.description, to: &output)
        case .datetime(let instant):
            if let text = instant.iso8601 {
                writeExtension("datetime", text, to: &output)
            } else {
                // Outside the years `datetime()` reads, written as the epoch plus an offset.
                output += "{\"__extn\":{\"fn\":\"offset\",\"args\":[{\"__extn\":{\"fn\":\"datetime\",\"arg\":\"1970-01-01\"}},"
                writeExtension("duration", "\(instant.millisecondsSinceEpoch)ms", to: &output)
                output += "]}}"
            }
        case .duration(let span): writeExtension("duration", span.description, to: &output)
        }
    }

    private static func writeExtension(_ function: String, _ argument: String, to output: inout String) {
        output += "{\"__extn\":{\"fn\":"
        writeString(function, to: &output)
        output += ",\"arg\":"
        writeString(argument, to: &output)
        output += "}}"
    }

    static func writeString(_ text: String, to output: inout String) {
        output += "\""
        // Most strings need no escaping and are appended whole.
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            output += text
            output += "\""
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    output.unicodeScalars.append(scalar)
                }
            }
        }
        output += "\""
    }
}
