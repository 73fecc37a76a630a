extension Principal {
    /// The user the agent's workload access token is bound to when this principal invokes it: the token's issuer
    /// and subject for a user with an access token, the named user for a caller acting for one, none otherwise.
    public var workloadUser: WorkloadUser? {
        if let actingForUser { return .id(actingForUser) }
        if method == .jwt, let issuer, let subject { return .token(issuer: issuer, subject: subject) }
        return nil
    }
}
