import ArgumentParser
import Foundation
import PortcullisCore

/// The options `apikey create` and `accesskey create` share.
struct CredentialOptions: ParsableArguments {
    @Option(name: .long, help: "A name for people, e.g. the service that uses the key.")
    var name: String

    @Option(name: .long, help: "An agent runtime name the key may invoke; repeat for several, or * for all.")
    var agent: [String] = []

    @Flag(name: .long, help: "Allow the key to use the control plane (create and change agent runtimes).")
    var admin = false

    @Option(name: .long, help: "Lifetime such as 90d, 12h, 30m or 3600s; the key never expires without it.")
    var expiresIn: String?

    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    func expiresAt() throws -> Date? {
        try expiresIn.map { Date().addingTimeInterval(try Self.parseDuration($0)) }
    }

    /// A time option: an ISO 8601 time, or a duration back from now (`90d`, `12h`, `30m`, `3600s`).
    static func pastDate(_ text: String?, option: String) throws -> Date? {
        guard let text else { return nil }
        if let date = try? Date(text, strategy: .iso8601) { return date }
        return Date().addingTimeInterval(-(try parseDuration(text, option: option)))
    }

    static func parseDuration(_ text: String, option: String = "--expires-in") throws -> TimeInterval {
        guard let unit = text.last, let value = Double(text.dropLast()), value > 0 else {
            throw ValidationError("\(option) takes a number and a unit: 90d, 12h, 30m or 3600s")
        }
        switch unit {
        case "d": return value * 86_400
        case "h": return value * 3600
        case "m": return value * 60
        case "s": return value
        default: throw ValidationError("\(option) takes a number and a unit: 90d, 12h, 30m or 3600s")
        }
    }
}

/// How credential commands print: JSON objects, and the columns every listing shares.
enum CredentialListing {
    static func printJSON(_ value: Any) throws {
        let data = try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    static func date(_ date: Date?) -> Any {
        date.map { $0.formatted(.iso8601) } ?? NSNull()
    }

    /// The JSON members every credential has.
    static func members(_ record: some IssuedCredential, now: Date) -> [String: Any] {
        [
            "name": record.name, "agents": record.agentScope.names, "admin": record.isAdministrator,
            "createdAt": date(record.createdAt), "expiresAt": date(record.expiresAt), "revokedAt": date(record.revokedAt),
            "lastUsedAt": date(record.lastUsedAt), "status": record.status(at: now),
        ]
    }

    /// Name, status, admin and agents columns, padded.
    static func columns(_ record: some IssuedCredential, now: Date) -> [String] {
        [
            pad(String(record.name.prefix(20)), 20), pad(record.status(at: now), 8), pad(record.isAdministrator ? "yes" : "no", 6),
            pad(String(record.agentScope.names.joined(separator: ",").prefix(20)), 20),
        ]
    }

    static func lastUsed(_ record: some IssuedCredential) -> String {
        record.lastUsedAt.map { $0.formatted(.iso8601) } ?? "never"
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.padding(toLength: width, withPad: " ", startingAt: 0)
    }
}
