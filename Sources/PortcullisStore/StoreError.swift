/// Failures a store reports in domain terms; anything else it throws is an I/O or database fault.
public enum StoreError: Error, Sendable, Equatable {
    /// A uniqueness rule was broken (the name is taken).
    case conflict(String)
    /// A stored value could not be read back.
    case corrupt(String)
}
