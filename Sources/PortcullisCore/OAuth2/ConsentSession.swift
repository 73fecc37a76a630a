public import Foundation

/// One user-consent (3-legged) flow, from the agent's GetResourceOauth2Token to the token it is released with.
///
/// `created` (the agent holds the authorization URL) → `redirected` (the browser went to the vendor with a state
/// bound to this session and a cookie) → `exchanging` (the callback consumed the state; the code is being
/// exchanged, once) → `awaitingBinding` (the token is held until CompleteResourceTokenAuth names the right user)
/// → `completed` (the token is in the vault; the agent's next poll gets it). Any step can end in `failed`; a
/// session past its expiry is dead whatever its state.
public struct ConsentSession: Sendable, Equatable {
    public enum Status: String, Sendable, Codable {
        case created, redirected, exchanging
        case awaitingBinding = "awaiting_binding"
        case completed, failed
    }

    /// What the agent asked for, kept for the authorization request and the return.
    public struct Request: Sendable, Equatable, Codable {
        public var scopes: [String]
        public var returnURL: String?
        public var customState: String?
        public var customParameters: [String: String]
        public var resources: [String]
        public var audiences: [String]

        public init(
            scopes: [String], returnURL: String?, customState: String?, customParameters: [String: String], resources: [String], audiences: [String]
        ) {
            self.scopes = scopes
            self.returnURL = returnURL
            self.customState = customState
            self.customParameters = customParameters
            self.resources = resources
            self.audiences = audiences
        }
    }

    /// Random; the `sessionUri` is `urn:ietf:params:oauth:request_uri:<id>`.
    public var id: String
    public var providerId: String
    public var workload: String
    public var userKey: String
    public var request: Request
    public var status: Status
    /// SHA-256 (hex) of the `state` sent to the vendor; set when the browser is redirected.
    public var stateHash: String?
    /// SHA-256 (hex) of the browser cookie the callback must bring back.
    public var browserNonceHash: String?
    public var sealedVerifier: String?
    /// The exchanged token response, sealed, held until the session is bound.
    public var sealedPendingToken: String?
    public var error: String?
    public var createdAt: Date
    public var expiresAt: Date

    public init(
        id: String, providerId: String, workload: String, userKey: String, request: Request, status: Status = .created, stateHash: String? = nil,
        browserNonceHash: String? = nil, sealedVerifier: String? = nil, sealedPendingToken: String? = nil, error: String? = nil, createdAt: Date,
        expiresAt: Date
    ) {
        self.id = id
        self.providerId = providerId
        self.workload = workload
        self.userKey = userKey
        self.request = request
        self.status = status
        self.stateHash = stateHash
        self.browserNonceHash = browserNonceHash
        self.sealedVerifier = sealedVerifier
        self.sealedPendingToken = sealedPendingToken
        self.error = error
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }

    public static let sessionURIPrefix = "urn:ietf:params:oauth:request_uri:"
    public var sessionURI: String { Self.sessionURIPrefix + id }

    public static func verifierContext(id: String) -> String { "consent_session/\(id)/pkce" }
    public static func pendingContext(id: String) -> String { "consent_session/\(id)/token" }
}
