import Foundation
import Synchronization
@testable import PortcullisCore
import PortcullisStore
@testable import PortcullisVault
import Testing

/// C4 (`research/vault-anchors.md` §4.4): what a power loss leaves of a SQLite store in WAL mode with
/// `synchronous=FULL` is the database file as of its last checkpoint and a prefix of the write-ahead log — any byte
/// prefix, since the log is written in order and synced at every commit. The test refreshes a grant many times
/// against a rotating vendor, then opens every such image (at commit boundaries and torn in the middle of frames) and
/// checks what the vault would read there.
@Suite("The token vault after a power loss")
struct VaultPowerLossTests {
    @Test("C4: every write-ahead-log prefix a power loss can leave opens to an access token with the refresh token issued with it, never a mix, and never older than a shorter prefix")
    func powerLoss() async throws {
        let vendor = StandInVendor(style: .zoom)
        try await vendor.run { vendorURL in
            let directory = NSTemporaryDirectory() + "portcullis-c4-" + SecureRandom.base32(8)
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let path = directory + "/vault.sqlite"
            let store = try SQLiteStore(path: path, logger: testLogger)
            let ring = VaultTestKeys.ring()
            let clock = ManualClock()
            let providers = CredentialProviders(store: store, keyRing: ring, clock: clock, logger: testLogger)
            let registration = OAuth2ClientRegistration(
                clientId: vendor.clientId, authorizationEndpoint: vendorURL + "/authorize", tokenEndpoint: vendorURL + "/token", clientAuthentication: .basic,
                usesPKCE: true
            )
            let record = try await providers.create(
                name: "zoom", kind: .oauth2, vendor: "ZoomOauth2", configuration: CredentialProviders.configuration(of: registration), secret: vendor.clientSecret,
                tags: [:]
            )
            let client = try await providers.oauth2Client(record)
            let vault = OAuth2Tokens(store: store, keyRing: ring, client: VendorTokenClient(timeout: .seconds(5)), clock: clock, logger: testLogger)
            let user = WorkloadUser.id("c4-user")
            let (access, refresh) = vendor.grant()
            try await vault.storeConsented(
                VendorTokenResponse(accessToken: access, refreshToken: refresh, expiresIn: 3600, scope: nil), client: client, workload: "c4-app", user: user,
                scopes: ["meeting:read"]
            )
            let key = VaultToken.Key(providerId: record.id, flow: .user, workload: "c4-app", userKey: user.key, scopes: ["meeting:read"])
            for _ in 0..<15 {
                clock.advance(by: 7200)
                guard case .token = try await vault.userToken(client, workload: "c4-app", user: user, scopes: ["meeting:read"]) else {
                    Issue.record("a refresh did not give a token")
                    return
                }
            }
            #expect(vendor.tokenRequests("refresh_token") == 15 && vendor.reuseDetected == 0)
            let finalGeneration = try #require(try await store.vaultToken(key)).generation

            // The files as they are now, nothing being written.
            let database = try #require(FileManager.default.contents(atPath: path))
            let log = try #require(FileManager.default.contents(atPath: path + "-wal"))
            let frames = try Self.walFrames(log)
            #expect(frames.count < 1000, "the log was never checkpointed (the test's premise): \(frames.count) frames")
            // Cuts: at the end of each commit, inside the frame after it, and just after its header.
            var cuts = Set<Int>()
            for frame in frames where frame.isCommit {
                cuts.insert(frame.end)
                cuts.insert(min(log.count, frame.end + 24 + 100))
                cuts.insert(min(log.count, frame.end + 10))
            }
            let sortedCuts = cuts.sorted()
            let chosen = stride(from: 0, to: sortedCuts.count, by: max(1, sortedCuts.count / 90)).map { sortedCuts[$0] } + [log.count]

            // Every image on disk first, then one reader over them all (Python's sqlite3: a plain connection per
            // image, recovering its log as SQLite does after a crash).
            var images: [String] = []
            for (index, cut) in chosen.enumerated() {
                let image = directory + "/image-\(index)"
                try FileManager.default.createDirectory(atPath: image, withIntermediateDirectories: true)
                FileManager.default.createFile(atPath: image + "/vault.sqlite", contents: database)
                FileManager.default.createFile(atPath: image + "/vault.sqlite-wal", contents: log.prefix(cut))
                images.append(image + "/vault.sqlite")
            }
            let python = try #require(ExternalProcess.python ?? (FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : nil))
            let reader = """
                import json, sqlite3, sys
                for path in sys.argv[2:]:
                    c = sqlite3.connect(path)
                    try:
                        row = c.execute("SELECT id, access_sealed, refresh_sealed, refresh_hash, generation FROM vault_token WHERE provider_id = ? AND workload = 'c4-app'", (sys.argv[1],)).fetchone()
                    except sqlite3.OperationalError:
                        row = None  # cut before the schema's commit
                    c.close()
                    print(json.dumps(row))
                """
            let read = try await ExternalProcess.run(python, ["-c", reader, record.id] + images)
            #expect(read.status == 0, "\(read.error)")
            let rows = read.output.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8), options: .fragmentsAllowed) }
            #expect(rows.count == images.count)

            let pairs = vendor.state.withLock { $0.pairs }
            var generations: [Int] = []
            var mixed = 0
            for (index, row) in rows.enumerated() {
                guard let columns = row as? [Any], columns.count == 5, let id = columns[0] as? String, let sealedAccess = columns[1] as? String,
                    let sealedRefresh = columns[2] as? String, let generation = columns[4] as? Int
                else {
                    // Before the consent's commit there is no grant yet; after it, one is always there.
                    #expect(generations.isEmpty, "the grant vanished at cut \(chosen[index])")
                    continue
                }
                let openedAccess = String(decoding: try ring.open(sealedAccess, context: VaultToken.accessContext(id: id)), as: UTF8.self)
                let openedRefresh = String(decoding: try ring.open(sealedRefresh, context: VaultToken.refreshContext(id: id)), as: UTF8.self)
                if pairs[openedAccess] != openedRefresh || columns[3] as? String != OAuth2Tokens.hash(openedRefresh) { mixed += 1 }
                generations.append(generation)
            }
            #expect(mixed == 0, "\(mixed) images with an access token and a refresh token of different issues")
            #expect(generations == generations.sorted(), "a longer prefix never reads an older grant")
            #expect(Set(generations).count >= 10, "the cuts cover many refreshes: \(Set(generations).sorted())")
            #expect(generations.last == finalGeneration)
        }
    }

    struct Frame {
        var end: Int
        var isCommit: Bool
    }

    /// The frames of a write-ahead log (sqlite.org/fileformat2.html#walformat): a 32-byte header with the page size
    /// at offset 8, then frames of a 24-byte header — the database size after a commit at offset 4, zero otherwise —
    /// and one page.
    static func walFrames(_ log: Data) throws -> [Frame] {
        let bytes = [UInt8](log)
        func integer(_ offset: Int) -> Int { bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) } }
        guard bytes.count >= 32 else { throw TestFailure("no write-ahead log header") }
        let pageSize = integer(8)
        var frames: [Frame] = []
        var offset = 32
        while offset + 24 + pageSize <= bytes.count {
            frames.append(Frame(end: offset + 24 + pageSize, isCommit: integer(offset + 4) != 0))
            offset += 24 + pageSize
        }
        return frames
    }
}
