import Crypto
import Foundation
import PortcullisCore
import Synchronization

/// Tokens whose signature and claims were verified recently, keyed by the SHA-256 of the token, so a client
/// repeating its token skips the signature check.
///
/// An entry never outlives what the verifier would accept (the token's `exp` plus leeway), and is used only while
/// the key that signed it is still in its issuer's key set. The cache is bounded; when full, expired entries go
/// first, then everything.
final class VerifiedTokenCache: Sendable {
    struct Entry: Sendable {
        var principal: Principal
        var validUntil: Double
        var issuer: TrustedIssuer
        var keyId: String
    }

    /// The first 16 bytes of the token's SHA-256: collisions are out of reach, and the key is two words.
    struct Fingerprint: Hashable, Sendable {
        var high: UInt64
        var low: UInt64

        init(_ token: String) {
            let digest = SHA256.hash(data: Array(token.utf8))
            var words = (UInt64(0), UInt64(0))
            digest.withUnsafeBytes { bytes in
                words.0 = bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
                words.1 = bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
            }
            self.high = words.0
            self.low = words.1
        }
    }

    let capacity: Int
    private let entries = Mutex<[Fingerprint: Entry]>([:])

    init(capacity: Int) {
        self.capacity = capacity
    }

    func principal(for fingerprint: Fingerprint, now: Double) -> Principal? {
        guard capacity > 0, let entry = entries.withLock({ $0[fingerprint] }) else { return nil }
        guard now < entry.validUntil, entry.issuer.hasKey(entry.keyId) else {
            _ = entries.withLock { $0.removeValue(forKey: fingerprint) }
            return nil
        }
        return entry.principal
    }

    func insert(_ entry: Entry, for fingerprint: Fingerprint, now: Double) {
        guard capacity > 0 else { return }
        entries.withLock { entries in
            if entries.count >= capacity {
                entries = entries.filter { now < $0.value.validUntil }
                if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            }
            entries[fingerprint] = entry
        }
    }

    var count: Int { entries.withLock { $0.count } }
}
