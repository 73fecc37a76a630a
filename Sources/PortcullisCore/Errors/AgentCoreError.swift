/// An error that reaches a client in the AgentCore error envelope.
///
/// Every module throws this for failures a caller must see; the gateway renders it as
/// `X-Amzn-ErrorType: <code>` plus `{"message": …, "__type": …}`. The message is written for the caller:
/// it never carries secrets, internal paths or upstream addresses.
public struct AgentCoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The `ValidationException` reasons the model defines.
    public enum ValidationReason: String, Sendable {
        case cannotParse = "CannotParse"
        case fieldValidationFailed = "FieldValidationFailed"
        case idempotentParameterMismatch = "IdempotentParameterMismatchException"
        case resourceConflict = "ResourceConflict"
    }

    /// One invalid field of a `ValidationException`.
    public struct Field: Sendable, Equatable {
        public var name: String
        public var message: String

        public init(name: String, message: String) {
            self.name = name
            self.message = message
        }
    }

    public var code: AgentCoreErrorCode
    public var message: String
    public var reason: ValidationReason?
    public var fields: [Field]
    /// Extra response headers, such as `WWW-Authenticate` on a 401.
    public var headers: [(name: String, value: String)]

    public init(
        _ code: AgentCoreErrorCode,
        _ message: String,
        reason: ValidationReason? = nil,
        fields: [Field] = [],
        headers: [(name: String, value: String)] = []
    ) {
        self.code = code
        self.message = message
        self.reason = reason
        self.fields = fields
        self.headers = headers
    }

    public var description: String { "\(code.rawValue): \(message)" }

    public static func == (lhs: AgentCoreError, rhs: AgentCoreError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message && lhs.reason == rhs.reason && lhs.fields == rhs.fields
    }

    /// A `ValidationException` for one named field.
    public static func invalidField(_ name: String, _ message: String) -> AgentCoreError {
        AgentCoreError(
            .validation,
            "1 validation error detected: Value at '\(name)' failed to satisfy constraint: \(message)",
            reason: .fieldValidationFailed,
            fields: [Field(name: name, message: message)]
        )
    }

    /// A `ValidationException` for a body or parameter that could not be parsed at all.
    public static func cannotParse(_ message: String) -> AgentCoreError {
        AgentCoreError(.validation, message, reason: .cannotParse)
    }

    /// A `ResourceNotFoundException`.
    public static func notFound(_ message: String) -> AgentCoreError {
        AgentCoreError(.resourceNotFound, message)
    }
}
