public import Foundation
public import PortcullisCore

/// How the vault retries a refresh the vendor failed for now (5xx, timeouts, throttling): exponential backoff per
/// token, with jitter so many grants do not retry in step, and re-consent only after failures on several distinct
/// days — an outage of hours, or a clock set back or forward, never costs users their grants.
public struct RefreshRetry: Sendable {
    /// The first wait; each further failure doubles it.
    public var baseSeconds: TimeInterval
    /// The longest wait between two attempts.
    public var maximumSeconds: TimeInterval
    /// Distinct UTC days with failures (and no success between) after which the grant needs re-consent; the run
    /// must also span that many days less one (less an hour), so a run that starts just before midnight does not
    /// count the next morning as a second day.
    public var exhaustionDays: Int

    /// Each wait is the backoff ± this fraction.
    static let jitter = 0.2

    public init(baseSeconds: TimeInterval = 5, maximumSeconds: TimeInterval = 600, exhaustionDays: Int = 3) {
        self.baseSeconds = baseSeconds
        self.maximumSeconds = maximumSeconds
        self.exhaustionDays = exhaustionDays
    }

    /// The wait after the `failures`-th failure in a row.
    func delay(afterFailures failures: Int) -> TimeInterval {
        let exponent = Double(min(max(failures - 1, 0), 30))
        let backoff = min(baseSeconds * pow(2, exponent), maximumSeconds)
        return backoff * Double.random(in: (1 - Self.jitter)...(1 + Self.jitter))
    }

    func isExhausted(_ run: VaultToken.Since, now: Date) -> Bool {
        guard run.days >= exhaustionDays, let first = run.firstAt else { return false }
        return now.timeIntervalSince(first) >= Double(exhaustionDays - 1) * 86_400 - 3_600
    }
}
