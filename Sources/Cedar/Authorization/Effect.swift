/// Whether a satisfied policy allows or denies the request.
public enum Effect: String, Hashable, Sendable {
    case permit
    case forbid
}
