import Foundation
import PortcullisCore

/// When an issuer's key set is fetched again: on a schedule that honours `Cache-Control: max-age` within
/// configured bounds, with backoff after failures, and for unknown `kid`s at most once per cooldown.
///
/// A pure state machine (times in, decisions out), so its rules are tested without sockets or sleeps.
struct KeySetRefreshSchedule: Sendable, Equatable {
    let configuration: KeySetConfiguration
    /// When the next background refresh is due; `nil` before the first fetch (due at once).
    private(set) var nextRefresh: Date?
    private(set) var lastUnknownKeyFetch: Date?
    private(set) var consecutiveFailures = 0

    init(configuration: KeySetConfiguration) {
        self.configuration = configuration
    }

    func isDue(at now: Date) -> Bool {
        nextRefresh.map { now >= $0 } ?? true
    }

    /// A fetch succeeded; `maxAge` is the response's `Cache-Control: max-age`.
    mutating func fetched(at now: Date, maxAge: Int?) {
        consecutiveFailures = 0
        let interval = min(max(maxAge ?? configuration.refreshSeconds, configuration.minRefreshSeconds), configuration.maxRefreshSeconds)
        nextRefresh = now.addingTimeInterval(TimeInterval(interval))
    }

    /// A fetch failed: retry after 15 s, doubling per failure, never later than the regular interval.
    mutating func failed(at now: Date) {
        consecutiveFailures += 1
        let backoff = min(15 * pow(2, Double(min(consecutiveFailures - 1, 16))), Double(configuration.minRefreshSeconds))
        nextRefresh = now.addingTimeInterval(backoff)
    }

    /// Whether a token with an unknown `kid` may trigger a fetch now; if so, records that it did.
    mutating func admitUnknownKeyFetch(at now: Date) -> Bool {
        if let last = lastUnknownKeyFetch, now.timeIntervalSince(last) < TimeInterval(configuration.unknownKeyRefetchSeconds) {
            return false
        }
        lastUnknownKeyFetch = now
        return true
    }
}
