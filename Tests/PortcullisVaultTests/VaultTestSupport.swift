import Crypto
import Foundation
import Logging
import PortcullisCore
import PortcullisStore
import Synchronization

/// A clock tests move by hand.
final class ManualClock: WallClock {
    private let current: Mutex<Date>

    init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        current = Mutex(start)
    }

    func now() -> Date { current.withLock { $0 } }

    func advance(_ seconds: TimeInterval) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }
}

enum VaultTestSupport {
    static func keyRing(_ versions: [UInt32]) -> KeyRing {
        KeyRing(keys: Dictionary(uniqueKeysWithValues: versions.map { ($0, SymmetricKey(size: .bits256)) }))
    }

    /// A real SQLite store in a directory removed afterwards.
    static func withStore<T>(_ body: (SQLiteStore, String) async throws -> T) async throws -> T {
        let directory = NSTemporaryDirectory() + "portcullis-vault-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/portcullis.sqlite"
        return try await body(try SQLiteStore(path: path, logger: Logger(label: "test")), path)
    }
}
