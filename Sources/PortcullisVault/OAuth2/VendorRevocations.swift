public import Foundation
public import Logging
public import PortcullisCore
public import PortcullisStore
import Synchronization

/// Works the queue of revocations that deleted grants owe their vendors (``VaultRevocation``): each due row is
/// claimed (so one gateway calls the vendor for it), its tokens opened just for the call, and the vendor asked to
/// revoke them. Done, already dead, unsupported or refused for good: the row goes. Down or throttling: it is tried
/// again with a growing backoff, and given up after ``maxAttempts``. Every end is audited, never with a token.
///
/// A gateway runs it right after it deletes a provider or a workload identity, and every few seconds for what
/// other gateways, crashed attempts and backoffs left due.
public final class VendorRevocations: Sendable {
    /// How long a claimed attempt holds its row: longer than the vendor call may take, so a live attempt is never
    /// repeated, short enough that a crashed gateway's row is soon due again.
    static let claimSeconds: TimeInterval = 60
    static let batchSize = 32

    let store: any VaultRevocationStore
    let providers: CredentialProviders
    let keyRing: KeyRing
    let client: VendorRevocationClient
    let clock: any WallClock
    let retry: RefreshRetry
    let maxAttempts: Int
    let audit: @Sendable (AuditEvent) -> Void
    let logger: Logger
    /// Whether this process is working the queue, and whether it was asked to look again meanwhile.
    private let state = Mutex((running: false, again: false))

    public init(
        store: any VaultRevocationStore, providers: CredentialProviders, keyRing: KeyRing, client: VendorRevocationClient, clock: any WallClock,
        retry: RefreshRetry = RefreshRetry(baseSeconds: 30, maximumSeconds: 6 * 3600), maxAttempts: Int = 12,
        audit: @escaping @Sendable (AuditEvent) -> Void, logger: Logger
    ) {
        self.store = store
        self.providers = providers
        self.keyRing = keyRing
        self.client = client
        self.clock = clock
        self.retry = retry
        self.maxAttempts = maxAttempts
        self.audit = audit
        self.logger = logger
    }

    /// Starts a ``run()`` without waiting for it: what a deletion just queued goes to the vendor at once.
    public func runSoon() {
        Task { await self.run() }
    }

    /// Works every due revocation; a call while one runs makes that one look again instead. Returns how many rows
    /// this call finished (revoked or otherwise done with).
    @discardableResult
    public func run() async -> Int {
        let starts = state.withLock { state -> Bool in
            if state.running {
                state.again = true
                return false
            }
            state = (true, false)
            return true
        }
        guard starts else { return 0 }
        var finished = 0
        while true {
            finished += await runDue()
            let again = state.withLock { state -> Bool in
                if state.again {
                    state.again = false
                    return true
                }
                state.running = false
                return false
            }
            if !again { return finished }
        }
    }

    private func runDue() async -> Int {
        // A sealed vault cannot open what it owes; the rows wait for its keys.
        guard keyRing.activeVersion != nil else { return 0 }
        var finished = 0
        while true {
            let due: [VaultRevocation]
            do {
                due = try await store.dueVaultRevocations(at: clock.now(), limit: Self.batchSize)
            } catch {
                logger.warning("cannot read the vault's revocation queue", metadata: ["error": "\(error)"])
                return finished
            }
            var claimed = 0
            for revocation in due {
                guard let done = await attempt(revocation) else { continue }
                claimed += 1
                if done { finished += 1 }
            }
            // Rows others claimed, or failures put back for later, end the round.
            if due.count < Self.batchSize || claimed == 0 { return finished }
        }
    }

    /// One attempt at a row. Returns `nil` when another gateway claimed it first, whether it is done otherwise.
    private func attempt(_ revocation: VaultRevocation) async -> Bool? {
        let now = clock.now()
        do {
            guard try await store.claimVaultRevocation(id: revocation.id, expected: revocation.nextAttemptAt, until: now.addingTimeInterval(Self.claimSeconds))
            else { return nil }
        } catch {
            logger.warning("cannot claim a vendor revocation", metadata: ["error": "\(error)"])
            return nil
        }
        let attempt = revocation.attempts + 1
        let result = await revoke(revocation)
        if case .transient(let code) = result, attempt < maxAttempts {
            let delay = retry.delay(afterFailures: attempt)
            do {
                try await store.retryVaultRevocation(id: revocation.id, at: clock.now().addingTimeInterval(delay), error: code)
            } catch {
                // The claim runs out and the row is due again anyway.
                logger.warning("cannot put a vendor revocation back for later", metadata: ["error": "\(error)"])
            }
            record(revocation, result: result, attempt: attempt, retryIn: delay)
            return false
        }
        do {
            try await store.deleteVaultRevocation(id: revocation.id)
        } catch {
            logger.warning("cannot remove a finished vendor revocation", metadata: ["error": "\(error)"])
            return false
        }
        record(revocation, result: result, attempt: attempt, retryIn: nil)
        return true
    }

    private func revoke(_ revocation: VaultRevocation) async -> VendorRevocationClient.Result {
        let tokenId = revocation.tokenId
        let client: OAuth2Tokens.Client
        let access: String
        let refresh: String?
        do {
            client = try await providers.oauth2Client(revocation.provider)
            access = String(decoding: try keyRing.open(revocation.sealedAccessToken, context: VaultToken.accessContext(id: tokenId)), as: UTF8.self)
            refresh = try revocation.sealedRefreshToken.map { sealed in
                String(decoding: try keyRing.open(sealed, context: VaultToken.refreshContext(id: tokenId)), as: UTF8.self)
            }
        } catch {
            return .unreadable
        }
        return await self.client.revoke(accessToken: access, refreshToken: refresh, client: client)
    }

    private func record(_ revocation: VaultRevocation, result: VendorRevocationClient.Result, attempt: Int, retryIn: TimeInterval?) {
        var name = result.name
        var details: [String: JSONValue] = [
            "provider": .string(revocation.provider.name), "vendor": .string(revocation.provider.vendor ?? ""), "reason": .string(revocation.reason.rawValue),
            "flow": .string(revocation.flow.rawValue), "workload": .string(revocation.workload), "attempt": .number(Double(attempt)),
        ]
        switch result {
        case .rejected(let code):
            details["error"] = .string(code)
        case .transient(let code):
            details["error"] = .string(code)
            if retryIn == nil { name = "abandoned" }
        case .revoked, .alreadyInvalid, .unsupported, .unreadable:
            break
        }
        if let retryIn { details["retryInSeconds"] = .number(retryIn.rounded(.up)) }
        details["result"] = .string(name)
        let succeeded = ["revoked", "alreadyInvalid", "unsupported"].contains(name)
        audit(AuditEvent(time: clock.now(), kind: .vaultRevocation, action: "RevokeVendorToken", outcome: succeeded ? "success" : "failure", details: details))
        let metadata: Logger.Metadata = ["provider": "\(revocation.provider.name)", "reason": "\(revocation.reason.rawValue)", "result": "\(name)"]
        if succeeded {
            logger.info("a deleted grant's vendor token was dealt with", metadata: metadata)
        } else {
            logger.warning("a deleted grant's vendor token could not be revoked", metadata: metadata.merging(["error": "\(details["error"]?.stringValue ?? "")"]) { $1 })
        }
    }
}
