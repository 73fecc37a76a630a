import Crypto
public import Foundation

/// How audit records are chained: `hash = SHA-256(previous hash + "\n" + body)`, hex, where the body is the
/// event's canonical JSON with its sequence number.
public enum AuditChain {
    /// The canonical body of an event at `sequence`: JSON with sorted keys, the time in whole milliseconds.
    public static func body(of event: AuditEvent, sequence: Int64) -> String {
        var members: [String: JSONValue] = [
            "sequence": .number(Double(sequence)),
            "timeMillis": .number((event.time.timeIntervalSince1970 * 1000).rounded()),
            "kind": .string(event.kind.rawValue),
            "outcome": .string(event.outcome),
            "details": .object(event.details),
        ]
        if let principal = event.principal { members["principal"] = .string(principal) }
        if let agent = event.agentRuntimeId { members["agentRuntimeId"] = .string(agent) }
        if let action = event.action { members["action"] = .string(action) }
        if let requestId = event.requestId { members["requestId"] = .string(requestId) }
        // Verification hashes the stored body as it is, so how it was written only has to be deterministic.
        return String(decoding: JSONValue.object(members).serialized(), as: UTF8.self)
    }

    public static func hash(previous: String, body: String) -> String {
        Hex.encode(SHA256.hash(data: Array((previous + "\n" + body).utf8)))
    }

    /// The event a stored body describes, or `nil` when it is not one.
    public static func event(fromBody body: String) -> (sequence: Int64, event: AuditEvent)? {
        guard let members = try? StrictJSON.parseObject(Array(body.utf8)),
            let sequence = members["sequence"]?.numberValue, let millis = members["timeMillis"]?.numberValue,
            let kind = members["kind"]?.stringValue.flatMap(AuditEvent.Kind.init(rawValue:)), let outcome = members["outcome"]?.stringValue
        else { return nil }
        let event = AuditEvent(
            time: Date(timeIntervalSince1970: millis / 1000), kind: kind, principal: members["principal"]?.stringValue,
            agentRuntimeId: members["agentRuntimeId"]?.stringValue, action: members["action"]?.stringValue, outcome: outcome,
            requestId: members["requestId"]?.stringValue, details: members["details"]?.objectValue ?? [:]
        )
        return (Int64(sequence), event)
    }
}
