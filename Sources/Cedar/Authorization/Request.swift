/// An authorization request: who wants to do what to which resource, in what context.
public struct Request: Hashable, Sendable {
    /// The principal making the request.
    public var principal: EntityUID
    /// The action requested.
    public var action: EntityUID
    /// The resource acted on.
    public var resource: EntityUID
    /// The context record.
    public var context: [String: Value]

    /// Creates a request.
    public init(principal: EntityUID, action: EntityUID, resource: EntityUID, context: [String: Value] = [:]) {
        self.principal = principal
        self.action = action
        self.resource = resource
        self.context = context
    }
}
