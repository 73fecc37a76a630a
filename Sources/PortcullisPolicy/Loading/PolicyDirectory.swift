public import Foundation
import Synchronization

/// A policy directory kept in force: loaded at start (a broken directory stops the start), then reloaded when
/// its files change or on request. A reload compiles the new files completely before swapping them in; when
/// they do not compile, the last good set stays in force and the problems are kept for readiness and logs.
public final class PolicyDirectory: Sendable {
    /// How the last reload attempt went.
    public struct Status: Sendable, Equatable {
        /// The digest of the set in force.
        public var activeDigest: String
        public var activatedAt: Date
        /// The problems of the newest files, when they could not be loaded; empty when the files in the
        /// directory are the set in force.
        public var problems: [PolicyProblem]
        /// When the newest files were first refused.
        public var refusedSince: Date?
        /// The digest of the refused files, so polling does not compile them again.
        var refusedDigest: String?

        public var isCurrent: Bool { problems.isEmpty }
    }

    /// What a reload did.
    public enum ReloadOutcome: Sendable, Equatable {
        case unchanged
        case activated(digest: String)
        case refused([PolicyProblem])
    }

    public let path: String
    public let engine: PolicyEngine
    private let state: Mutex<Status>

    /// Loads `path`; throws when it does not compile, so a gateway never starts without its policies.
    public init(path: String, now: Date = Date()) throws(PolicyLoadFailure) {
        self.path = path
        let bundle = try PolicyBundle.compile(try PolicyFiles.read(directory: path))
        self.engine = PolicyEngine(bundle)
        self.state = Mutex(Status(activeDigest: bundle.digest, activatedAt: now, problems: [], refusedSince: nil))
    }

    public var status: Status { state.withLock { $0 } }

    /// Reads the directory again and activates it if it changed and compiles. Files already refused are not
    /// compiled again unless `force` (a SIGHUP or an operator's request), so polling a broken directory reports
    /// it once. Concurrent callers are serialised, so two reloads never race to activate different sets.
    @discardableResult
    public func reload(force: Bool = false, now: Date = Date()) -> ReloadOutcome {
        state.withLock { status in
            let files: PolicyFiles
            do throws(PolicyLoadFailure) {
                files = try PolicyFiles.read(directory: path)
            } catch {
                return refuse(error.problems, digest: nil, force: force, status: &status, now: now)
            }
            let digest = PolicyBundle.digest(of: files)
            if digest == status.activeDigest {
                status.problems = []
                status.refusedSince = nil
                status.refusedDigest = nil
                return .unchanged
            }
            if digest == status.refusedDigest, !force { return .unchanged }
            do throws(PolicyLoadFailure) {
                let bundle = try PolicyBundle.compile(files)
                engine.activate(bundle)
                status = Status(activeDigest: bundle.digest, activatedAt: now, problems: [], refusedSince: nil)
                return .activated(digest: bundle.digest)
            } catch {
                return refuse(error.problems, digest: digest, force: force, status: &status, now: now)
            }
        }
    }

    private func refuse(_ problems: [PolicyProblem], digest: String?, force: Bool, status: inout Status, now: Date) -> ReloadOutcome {
        let isNew = status.problems != problems || status.refusedDigest != digest
        if isNew { status.refusedSince = now }
        status.problems = problems
        status.refusedDigest = digest
        return isNew || force ? .refused(problems) : .unchanged
    }
}
