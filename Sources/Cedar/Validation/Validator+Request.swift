extension Validator {
    /// Every way `request` does not fit the schema: an undeclared action, a principal or resource
    /// type the action does not apply to, an invalid enumerated id, or a context of the wrong shape.
    public func validate(_ request: Request) -> [ValidationError] {
        guard let action = schema.actions[request.action] else {
            return [ValidationError(code: .unrecognizedActionID, policyID: nil, message: "request's action `\(request.action)` is not declared in the schema")]
        }
        var errors: [ValidationError] = []
        if !action.principals.contains(request.principal.type) {
            errors.append(ValidationError(code: .invalidPrincipalType, policyID: nil, message: "principal type \(request.principal.type) is not valid for action `\(request.action)`"))
        } else if !schema.isValid(request.principal) {
            errors.append(ValidationError(code: .invalidEnumEntity, policyID: nil, message: "principal `\(request.principal)` is not a declared enumerated id"))
        }
        if !action.resources.contains(request.resource.type) {
            errors.append(ValidationError(code: .invalidResourceType, policyID: nil, message: "resource type \(request.resource.type) is not valid for action `\(request.action)`"))
        } else if !schema.isValid(request.resource) {
            errors.append(ValidationError(code: .invalidEnumEntity, policyID: nil, message: "resource `\(request.resource)` is not a declared enumerated id"))
        }
        if !conforms(.record(request.context), to: .record(action.context)) {
            errors.append(ValidationError(code: .invalidContext, policyID: nil, message: "context does not match the type declared for action `\(request.action)`"))
        }
        return errors
    }

    private func conforms(_ value: Value, to type: CedarType) -> Bool {
        switch (value, type) {
        case (.bool, .bool), (.long, .long), (.string, .string),
             (.ipaddr, .ext(.ipaddr)), (.decimal, .ext(.decimal)),
             (.datetime, .ext(.datetime)), (.duration, .ext(.duration)):
            return true
        case (.entity(let uid), .entity(let expected)):
            return uid.type == expected
        case (.set(let elements), .set(let element)):
            return elements.allSatisfy { conforms($0, to: element) }
        case (.record(let fields), .record(let record)):
            return fields.allSatisfy { key, value in record.attributes[key].map { conforms(value, to: $0.type) } ?? false }
                && record.attributes.allSatisfy { key, attribute in !attribute.isRequired || fields[key] != nil }
        default:
            return false
        }
    }
}
