public import Foundation
import Glibc

/// Named points in the vault's refresh and consent where the crash and race tests stop or kill a gateway: what a real crash,
/// pause or lost response at that moment would leave behind. Off unless a test sets it; a gateway started with
/// `PORTCULLIS_FAULT_INJECTION` says so loudly in its log.
public struct VaultFaultPoints: Sendable {
    public enum Point: String, Sendable, CaseIterable {
        /// The refresh lease is taken; no journal entry is written yet.
        case afterLease = "after-lease"
        /// The journal entry is written; the vendor has not been called.
        case beforeVendorCall = "before-vendor-call"
        /// The vendor answered with new tokens; nothing is committed.
        case afterVendorAnswer = "after-vendor-answer"
        /// The new tokens are committed; the caller has not been answered.
        case afterCommit = "after-commit"
        /// A consent's callback consumed its state and exchanged the code; nothing is stored yet.
        case afterCodeExchange = "after-code-exchange"
    }

    let action: @Sendable (Point) async -> Void

    public init(_ action: @escaping @Sendable (Point) async -> Void) {
        self.action = action
    }

    public static let none = VaultFaultPoints { _ in }

    public static let environmentVariable = "PORTCULLIS_FAULT_INJECTION"

    /// `PORTCULLIS_FAULT_INJECTION=crash:<point>`: the process kills itself (SIGKILL, nothing flushed) when a refresh
    /// or a consent reaches the point — a crash at exactly that moment.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> VaultFaultPoints? {
        guard let value = environment[environmentVariable], value.hasPrefix("crash:"), let point = Point(rawValue: String(value.dropFirst(6))) else {
            return nil
        }
        return VaultFaultPoints { reached in
            if reached == point { kill(getpid(), SIGKILL) }
        }
    }

    func reach(_ point: Point) async { await action(point) }
}
