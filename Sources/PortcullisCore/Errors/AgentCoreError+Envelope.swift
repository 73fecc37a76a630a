public import Foundation

extension AgentCoreError {
    /// The JSON body of the AgentCore error envelope.
    ///
    /// `ValidationException` also carries `reason` and, where fields are named, `fieldList`, as the model defines.
    public func envelopeJSON() -> Data {
        var body: [String: Any] = ["message": message, "__type": code.rawValue]
        if code == .validation {
            body["reason"] = (reason ?? .fieldValidationFailed).rawValue
            if !fields.isEmpty {
                body["fieldList"] = fields.map { ["name": $0.name, "message": $0.message] }
            }
        }
        // Sorted keys keep the body stable for clients that snapshot it; serialising strings never fails.
        return (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
    }
}
