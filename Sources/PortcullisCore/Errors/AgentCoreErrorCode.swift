
/// The error codes of the AgentCore wire contract, each with the HTTP status the service model assigns it.
///
/// These names travel on the wire in `X-Amzn-ErrorType` and `__type`, so SDKs raise the matching exception
/// class. All come from the service model except `PayloadTooLargeException` (the model has no code for HTTP 413,
/// which a gateway must answer before reading an oversized body), `UnknownOperationException`, which AWS
/// endpoints answer for a path no operation serves, and the SigV4 failures AWS endpoints answer for every service
/// (`IncompleteSignatureException`, `UnrecognizedClientException`, `InvalidSignatureException`).
public enum AgentCoreErrorCode: String, Sendable, CaseIterable {
    case validation = "ValidationException"
    case unauthorized = "UnauthorizedException"
    case serviceQuotaExceeded = "ServiceQuotaExceededException"
    case accessDenied = "AccessDeniedException"
    case resourceNotFound = "ResourceNotFoundException"
    case conflict = "ConflictException"
    case retryableConflict = "RetryableConflictException"
    case runtimeClientError = "RuntimeClientError"
    case throttling = "ThrottlingException"
    case internalServer = "InternalServerException"
    case payloadTooLarge = "PayloadTooLargeException"
    case unknownOperation = "UnknownOperationException"
    case incompleteSignature = "IncompleteSignatureException"
    case unrecognizedClient = "UnrecognizedClientException"
    case invalidSignature = "InvalidSignatureException"
    /// Control plane: a secret could not be sealed (no key-encryption key is loaded).
    case encryptionFailure = "EncryptionFailure"
    /// Control plane: a stored secret could not be opened.
    case decryptionFailure = "DecryptionFailure"

    /// The HTTP status the service model gives this code.
    public var httpStatus: Int {
        switch self {
        case .validation, .incompleteSignature, .encryptionFailure, .decryptionFailure: 400
        case .unauthorized: 401
        case .serviceQuotaExceeded: 402
        case .accessDenied, .unrecognizedClient, .invalidSignature: 403
        case .resourceNotFound, .unknownOperation: 404
        case .conflict, .retryableConflict: 409
        case .payloadTooLarge: 413
        case .runtimeClientError: 424
        case .throttling: 429
        case .internalServer: 500
        }
    }
}
