public import Foundation

/// One vaulted OAuth 2.0 grant: the token a workload gets for a user (USER_FEDERATION) or the one token a
/// provider's client-credentials grant shares between workloads (M2M), keyed by provider, flow, workload, user and
/// scope set. Its tokens are sealed for this row; the refresh token never leaves the vault.
public struct VaultToken: Sendable, Equatable {
    public enum Flow: String, Sendable, Codable {
        case user
        case m2m
    }

    public enum Status: String, Sendable, Codable {
        case active
        /// The refresh token is dead (`invalid_grant`): the user must consent again. Never deleted for it.
        case needsReauthorization = "needs_reauth"
    }

    /// The key a grant is stored under.
    public struct Key: Sendable, Hashable {
        public var providerId: String
        public var flow: Flow
        /// Empty for M2M.
        public var workload: String
        /// ``WorkloadUser/key``; empty for M2M.
        public var userKey: String
        /// The requested scopes, sorted and space-joined.
        public var scopeKey: String

        public init(providerId: String, flow: Flow, workload: String, userKey: String, scopes: [String]) {
            self.providerId = providerId
            self.flow = flow
            self.workload = workload
            self.userKey = userKey
            self.scopeKey = Set(scopes).sorted().joined(separator: " ")
        }
    }

    public var id: String
    public var key: Key
    public var sealedAccessToken: String
    /// `nil`: the vendor said nothing, the token is taken not to expire.
    public var accessExpiresAt: Date?
    public var sealedRefreshToken: String?
    /// SHA-256 (hex) of the refresh token: what a refresh's commit compares against, so a stale refresher never
    /// overwrites a newer pair.
    public var refreshHash: String?
    public var status: Status
    /// Counts re-consents and refreshes; a newer grant always has a higher one.
    public var generation: Int
    public var leaseOwner: String?
    public var leaseUntil: Date?
    /// The vendor's last error code (never a token), for operators.
    public var lastError: String?
    public var updatedAt: Date
    /// Transient refresh failures since the last success (the vendor down, throttling, answering garbage).
    public var refreshFailures: Since
    /// No refresh is attempted before this, after a failure (backoff).
    public var retryAt: Date?

    /// A run of failures: how many, since when, on how many distinct (UTC) days, the latest of which.
    public struct Since: Sendable, Equatable {
        public var count: Int
        public var firstAt: Date?
        public var days: Int
        public var lastDay: Int?

        public init(count: Int = 0, firstAt: Date? = nil, days: Int = 0, lastDay: Int? = nil) {
            self.count = count
            self.firstAt = firstAt
            self.days = days
            self.lastDay = lastDay
        }

        /// The day number (days since 1970, UTC) of a moment.
        public static func day(of date: Date) -> Int { Int((date.timeIntervalSince1970 / 86_400).rounded(.down)) }
    }

    public init(
        id: String, key: Key, sealedAccessToken: String, accessExpiresAt: Date?, sealedRefreshToken: String?, refreshHash: String?,
        status: Status = .active, generation: Int = 1, leaseOwner: String? = nil, leaseUntil: Date? = nil, lastError: String? = nil,
        updatedAt: Date, refreshFailures: Since = Since(), retryAt: Date? = nil
    ) {
        self.refreshFailures = refreshFailures
        self.retryAt = retryAt
        self.id = id
        self.key = key
        self.sealedAccessToken = sealedAccessToken
        self.accessExpiresAt = accessExpiresAt
        self.sealedRefreshToken = sealedRefreshToken
        self.refreshHash = refreshHash
        self.status = status
        self.generation = generation
        self.leaseOwner = leaseOwner
        self.leaseUntil = leaseUntil
        self.lastError = lastError
        self.updatedAt = updatedAt
    }

    public static func accessContext(id: String) -> String { "vault_token/\(id)/access" }
    public static func refreshContext(id: String) -> String { "vault_token/\(id)/refresh" }
}
