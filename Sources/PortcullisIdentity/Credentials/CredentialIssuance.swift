import Foundation
import PortcullisCore

/// The rules every issued credential (API key, access key) follows, so both kinds accept exactly the same input.
enum CredentialIssuance {
    /// - Throws: `ValidationException` naming the field at fault.
    static func validate(name: String, agents: [String], administrator: Bool, expiresAt: Date?, now: Date) throws(AgentCoreError) {
        guard (1...128).contains(name.count), name.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else {
            throw AgentCoreError.invalidField("name", "Member must be 1-128 printable characters")
        }
        for agent in agents where agent != "*" && !AgentRuntimeIdentifier.isValidName(agent[...]) {
            throw AgentCoreError.invalidField("agents", "'\(agent)' is not an agent runtime name")
        }
        guard administrator || !agents.isEmpty else {
            throw AgentCoreError.invalidField("agents", "A key needs at least one agent (or * for all) unless it is an admin key")
        }
        if let expiresAt, expiresAt <= now {
            throw AgentCoreError.invalidField("expiresAt", "Member must be in the future")
        }
    }
}
