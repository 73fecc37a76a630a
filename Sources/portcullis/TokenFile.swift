import Foundation
import PortcullisCore

/// Where `portcullis login` keeps tokens: `$PORTCULLIS_HOME/tokens.json` (default `~/.portcullis`), directory 0700
/// and file 0600, one entry per gateway and issuer. Tokens are never printed.
struct TokenFile {
    struct Entry: Codable, Equatable {
        var gateway: String
        var issuer: String
        var accessToken: String
        var refreshToken: String?
        var expiresAt: Date?
        var tokenEndpoint: String
        var clientId: String
    }

    let path: String

    init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let home = environment["PORTCULLIS_HOME"] ?? ((environment["HOME"] ?? NSHomeDirectory()) + "/.portcullis")
        self.path = home + "/tokens.json"
    }

    func entries() -> [Entry] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return (try? decoder.decode([Entry].self, from: data)) ?? []
    }

    /// The entry for `gateway`: for `issuer` when given, else the only one.
    func entry(gateway: String, issuer: String?) -> Entry? {
        let matching = entries().filter { $0.gateway == gateway && (issuer == nil || $0.issuer == issuer) }
        return matching.count == 1 ? matching[0] : nil
    }

    func save(_ entry: Entry) throws {
        var all = entries().filter { !($0.gateway == entry.gateway && $0.issuer == entry.issuer) }
        all.append(entry)
        try write(all)
    }

    /// Removes the entries for `gateway` (and `issuer`); returns how many.
    func remove(gateway: String, issuer: String?) throws -> Int {
        let all = entries()
        let kept = all.filter { !($0.gateway == gateway && (issuer == nil || $0.issuer == issuer)) }
        try write(kept)
        return all.count - kept.count
    }

    private func write(_ entries: [Entry]) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        let data = try encoder.encode(entries)
        // Created 0600 before any token is written into it.
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        try data.write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
    }
}
