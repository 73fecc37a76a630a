import ArgumentParser
import Foundation
import PortcullisCore
import PortcullisStore

/// `portcullis audit query|verify|export`: the tamper-evident audit log in the store.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Search, export and verify the audit log (hash-chained; reads the store).",
        subcommands: [Query.self, Export.self, Verify.self]
    )

    /// The filters `query` and `export` share.
    struct Filters: ParsableArguments {
        @Option(name: .long, help: "Only this kind; repeat for several (\(AuditEvent.Kind.allCases.map(\.rawValue).joined(separator: ", "))).")
        var kind: [String] = []

        @Option(name: .long, help: "Only events about this agent runtime id.")
        var agent: String?

        @Option(name: .long, help: "Only events of this principal (as recorded, e.g. apikey:…).")
        var principal: String?

        @Option(name: .long, help: "Since: an ISO 8601 time or a duration back (24h, 7d).")
        var since: String?

        @Option(name: .long, help: "Before: an ISO 8601 time or a duration back.")
        var until: String?

        func query(after: Int64?, limit: Int) throws -> AuditQuery {
            let kinds = try kind.map { name -> AuditEvent.Kind in
                guard let kind = AuditEvent.Kind(rawValue: name) else {
                    throw ValidationError("--kind takes one of \(AuditEvent.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return kind
            }
            return AuditQuery(
                kinds: kinds, principal: principal, agentRuntimeId: agent, since: try CredentialOptions.pastDate(since, option: "--since"),
                until: try CredentialOptions.pastDate(until, option: "--until"), after: after, limit: limit
            )
        }
    }

    struct Query: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print matching audit records, oldest first.")

        @OptionGroup var store: StoreOptions
        @OptionGroup var filters: Filters

        @Option(name: .long, help: "At most this many (default 100).")
        var limit: Int = 100

        @Flag(name: .long, help: "Print JSON lines (the records' bodies with their hashes).")
        var json = false

        func run() async throws {
            guard (1...100_000).contains(limit) else { throw ValidationError("--limit must be between 1 and 100000") }
            let records = try await store.openStore(logger: LoggingSetup.logger(level: "warning")).auditRecords(try filters.query(after: nil, limit: limit))
            for record in records {
                if json {
                    print(try AuditCommand.line(record))
                } else {
                    let event = record.event
                    let columns = [
                        String(record.sequence), event.time.formatted(.iso8601), event.kind.rawValue, event.outcome,
                        event.action ?? "-", event.agentRuntimeId ?? "-", event.principal ?? "-",
                    ]
                    print(columns.joined(separator: "  "))
                }
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write every matching record as JSON lines to standard output.")

        @OptionGroup var store: StoreOptions
        @OptionGroup var filters: Filters

        func run() async throws {
            let opened = try store.openStore(logger: LoggingSetup.logger(level: "warning"))
            var after: Int64?
            while true {
                let page = try await opened.auditRecords(try filters.query(after: after, limit: 1000))
                for record in page { print(try AuditCommand.line(record)) }
                guard page.count == 1000, let last = page.last else { return }
                after = last.sequence
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the whole chain; exit status 1 when a record was edited, deleted, inserted or reordered."
        )

        @OptionGroup var store: StoreOptions

        func run() async throws {
            let result = try await store.openStore(logger: LoggingSetup.logger(level: "warning")).verifyAudit()
            let range = result.firstSequence.map { "\($0)…\(result.lastSequence ?? $0)" } ?? "none"
            print("records: \(result.records) (\(range)), head hash: \(result.headHash)")
            guard result.isIntact else {
                for problem in result.problems { print("TAMPERED: \(problem)") }
                throw CommandFailure("the audit log does not verify: \(result.problems.count) problem(s)")
            }
            print("intact")
        }
    }

    static func line(_ record: AuditRecord) throws -> String {
        guard var object = try? JSONDecoder().decode(JSONValue.self, from: Data(record.body.utf8)).objectValue else { return record.body }
        object["hash"] = .string(record.hash)
        object["previousHash"] = .string(record.previousHash)
        return try SessionsCommand.jsonLine(.object(object))
    }
}

/// Audit events of the commands that change credentials directly in the store.
enum CommandAudit {
    static func credentialChange(_ action: String, id: String, name: String? = nil, admin: Bool? = nil, store: some AuditStore) async throws {
        var details: [String: JSONValue] = ["credentialId": .string(id), "via": .string("cli")]
        if let name { details["name"] = .string(name) }
        if let admin { details["administrator"] = .bool(admin) }
        let user = ProcessInfo.processInfo.environment["SUDO_USER"] ?? ProcessInfo.processInfo.userName
        try await store.appendAudit([
            AuditEvent(time: Date(), kind: .credentialChange, principal: "os-user:" + user, action: action, outcome: "success", details: details)
        ])
    }
}
