import Foundation
import PortcullisCore

/// Typed access to the members of a JSON request body, failing with a `ValidationException` that names the field.
/// Members the gateway does not know are ignored, as the AWS protocol requires.
struct RequestFields {
    let members: [String: JSONValue]
    let path: String

    init(members: [String: JSONValue], path: String = "") {
        self.members = members
        self.path = path
    }

    /// Parses a whole request body; an empty body is an empty object.
    init(body: Data) throws(AgentCoreError) {
        guard !body.isEmpty else {
            self.init(members: [:])
            return
        }
        // The strict parser: a body with duplicate members or invalid UTF-8 means different things to different
        // parsers, so it is refused rather than guessed at.
        do throws(StrictJSONError) {
            self.init(members: try StrictJSON.parseObject(Array(body)))
        } catch {
            // The reason may quote a member name the caller chose: printable ASCII only.
            let reason = String(String(describing: error).unicodeScalars.filter { (0x20..<0x7F).contains($0.value) }.prefix(200))
            throw AgentCoreError.cannotParse("The request body must be a JSON object: \(reason)")
        }
    }

    func name(_ member: String) -> String { path.isEmpty ? member : "\(path).\(member)" }

    func isPresent(_ member: String) -> Bool {
        if let value = members[member], value != .null { return true }
        return false
    }

    func string(_ member: String, required: Bool = false, length: ClosedRange<Int>? = nil) throws(AgentCoreError) -> String? {
        guard let value = members[member], value != .null else {
            if required { throw AgentCoreError.invalidField(name(member), "Member is required") }
            return nil
        }
        guard case .string(let text) = value else { throw AgentCoreError.invalidField(name(member), "Member must be a string") }
        if let length, !length.contains(text.count) {
            throw AgentCoreError.invalidField(name(member), "Member must have length between \(length.lowerBound) and \(length.upperBound)")
        }
        return text
    }

    func integer(_ member: String, required: Bool = false) throws(AgentCoreError) -> Int? {
        guard let value = members[member], value != .null else {
            if required { throw AgentCoreError.invalidField(name(member), "Member is required") }
            return nil
        }
        guard case .number(let number) = value, number.rounded() == number, abs(number) < 1e15 else {
            throw AgentCoreError.invalidField(name(member), "Member must be an integer")
        }
        return Int(number)
    }

    func boolean(_ member: String) throws(AgentCoreError) -> Bool? {
        guard let value = members[member], value != .null else { return nil }
        guard case .bool(let flag) = value else { throw AgentCoreError.invalidField(name(member), "Member must be a boolean") }
        return flag
    }

    func object(_ member: String, required: Bool = false) throws(AgentCoreError) -> RequestFields? {
        guard let value = members[member], value != .null else {
            if required { throw AgentCoreError.invalidField(name(member), "Member is required") }
            return nil
        }
        guard case .object(let nested) = value else { throw AgentCoreError.invalidField(name(member), "Member must be an object") }
        return RequestFields(members: nested, path: name(member))
    }

    func stringList(_ member: String, required: Bool = false) throws(AgentCoreError) -> [String]? {
        guard let value = members[member], value != .null else {
            if required { throw AgentCoreError.invalidField(name(member), "Member is required") }
            return nil
        }
        guard case .array(let items) = value else { throw AgentCoreError.invalidField(name(member), "Member must be a list") }
        var strings: [String] = []
        for item in items {
            guard case .string(let text) = item else { throw AgentCoreError.invalidField(name(member), "Members must be strings") }
            strings.append(text)
        }
        return strings
    }

    func stringMap(_ member: String) throws(AgentCoreError) -> [String: String]? {
        guard let value = members[member], value != .null else { return nil }
        guard case .object(let entries) = value else { throw AgentCoreError.invalidField(name(member), "Member must be a map") }
        var map: [String: String] = [:]
        for (key, entry) in entries {
            guard case .string(let text) = entry else { throw AgentCoreError.invalidField(name(member), "Values must be strings") }
            map[key] = text
        }
        return map
    }

    /// The raw JSON of a member, kept as sent.
    func raw(_ member: String) -> JSONValue? {
        guard let value = members[member], value != .null else { return nil }
        return value
    }

    /// The one member set in a union, which must have exactly one.
    func unionMember(_ member: String, of choices: [String]) throws(AgentCoreError) -> (String, RequestFields) {
        let union = try object(member, required: true)!
        let present = choices.filter { union.isPresent($0) }
        guard present.count == 1, let chosen = present.first, let nested = try union.object(chosen, required: true) else {
            throw AgentCoreError.invalidField(name(member), "Member must set exactly one of \(choices.joined(separator: ", "))")
        }
        return (chosen, nested)
    }
}
