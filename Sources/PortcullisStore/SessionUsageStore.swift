public import Foundation
public import PortcullisCore

/// Which sessions a listing returns, newest first.
public struct SessionQuery: Sendable, Equatable {
    public enum State: String, Sendable, CaseIterable {
        case active, ended, all
    }

    public var runtimeId: String?
    public var ownerId: String?
    public var state: State
    /// Sessions that started at or after this.
    public var since: Date?
    /// Continue after this record (the last of the previous page).
    public var after: SessionCursor?
    public var limit: Int

    public init(runtimeId: String? = nil, ownerId: String? = nil, state: State = .all, since: Date? = nil, after: SessionCursor? = nil, limit: Int = 100) {
        self.runtimeId = runtimeId
        self.ownerId = ownerId
        self.state = state
        self.since = since
        self.after = after
        self.limit = limit
    }
}

/// A position in a session listing: the start time and sandbox id of the last record seen.
public struct SessionCursor: Sendable, Equatable {
    public var startedAt: Date
    public var sandboxId: String

    public init(startedAt: Date, sandboxId: String) {
        self.startedAt = startedAt
        self.sandboxId = sandboxId
    }
}

/// Usage added up per agent runtime or per principal, for chargeback.
public struct UsageSummary: Sendable, Equatable {
    public enum Grouping: String, Sendable, CaseIterable {
        case agent, principal
    }

    /// The runtime id or the principal.
    public var key: String
    public var sessions: Int
    public var usage: SessionUsage

    public init(key: String, sessions: Int, usage: SessionUsage) {
        self.key = key
        self.sessions = sessions
        self.usage = usage
    }
}

/// Persistence of sandboxed sessions' metering records.
public protocol SessionUsageStore: Sendable {
    /// Writes records, replacing older versions of each (by sandbox id). A record never replaces a newer one, and
    /// an ended session stays ended.
    func saveSessions(_ records: [SessionRecord]) async throws
    /// Ends the sessions an earlier run of the gateway left open (it was killed): they end at their last update,
    /// with `reason`. Returns how many.
    func closeOpenSessions(reason: String) async throws -> Int
    func sessions(_ query: SessionQuery) async throws -> [SessionRecord]
    /// The newest record of a runtime session (a session id reused after its session ended has several).
    func latestSession(runtimeId: String, sessionId: String) async throws -> SessionRecord?
    /// Usage of the sessions that started in `since..<until`, grouped, largest CPU time first.
    func usageSummary(by grouping: UsageSummary.Grouping, since: Date, until: Date) async throws -> [UsageSummary]
    /// Removes ended sessions older than `date`; returns how many went.
    func purgeSessions(endedBefore date: Date) async throws -> Int
}
