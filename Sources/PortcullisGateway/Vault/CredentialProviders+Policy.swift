import PortcullisCore
import PortcullisPolicy
import PortcullisVault

extension CredentialProviders {
    /// The provider `name` as a policy decision names it, whether or not it exists (so a caller learns that it is
    /// missing only when allowed to ask), and its record when it exists.
    func decisionSubject(
        _ kind: CredentialProviderRecord.Kind, _ name: String
    ) async throws(AgentCoreError) -> (resource: PolicyResource, record: CredentialProviderRecord?) {
        let record: CredentialProviderRecord?
        do throws(AgentCoreError) {
            record = try await provider(kind: kind, name: name)
        } catch {
            guard error.code == .resourceNotFound else { throw error }
            record = nil
        }
        let facts = CredentialProviderFacts(name: name, kind: kind.rawValue, vendor: record?.vendor, tags: record?.tags ?? [:])
        return (.credentialProvider(facts), record)
    }
}
