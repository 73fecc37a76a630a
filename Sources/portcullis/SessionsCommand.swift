import ArgumentParser
import Foundation
import NIOCore
import PortcullisCore

/// `portcullis sessions list|show|stop`: the sandboxed runtime sessions of a running gateway, with their usage.
struct SessionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessions",
        abstract: "List, inspect and stop the sandboxed runtime sessions of a running gateway (administrators).",
        subcommands: [List.self, Show.self, Stop.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List sessions, newest first, with their usage.")

        @OptionGroup var admin: AdminOptions

        @Option(name: .long, help: "Only this agent runtime (its id, ARN, or a name in the dev gateway's dev.json).")
        var agent: String?

        @Option(name: .long, help: "Only sessions of this principal (as listed, e.g. apikey:…).")
        var principal: String?

        @Option(name: .long, help: "active (default), ended or all.")
        var state: String = "active"

        @Option(name: .long, help: "Only sessions started since: an ISO 8601 time or a duration back (24h, 7d).")
        var since: String?

        @Option(name: .long, help: "At most this many (1-1000).")
        var limit: Int = 100

        @Flag(name: .long, help: "Print JSON lines, one session per line.")
        var json = false

        func run() async throws {
            guard (1...1000).contains(limit) else { throw ValidationError("--limit must be between 1 and 1000") }
            let client = try await admin.client()
            var sessions: [JSONValue] = []
            var nextToken: String?
            repeat {
                let page = try await client.getJSON(
                    "/admin/sessions" + AdminClient.query([
                        ("agentRuntimeId", try agent.map { try SessionsCommand.runtimeId($0, admin: admin) }), ("principal", principal),
                        ("state", state), ("since", try AdminClient.time(since, option: "--since")),
                        ("maxResults", String(min(100, limit - sessions.count))), ("nextToken", nextToken),
                    ])
                )
                sessions += page["sessions"]?.arrayValue ?? []
                nextToken = page["nextToken"]?.stringValue
            } while nextToken != nil && sessions.count < limit
            if json {
                for session in sessions { print(try SessionsCommand.jsonLine(session)) }
                return
            }
            print(SessionsCommand.row(["SESSION", "AGENT RUNTIME", "STATUS", "STARTED", "CALLS", "CPU s", "MEM GB·s", "PRINCIPAL"]))
            for session in sessions { print(SessionsCommand.row(SessionsCommand.columns(session))) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one session (its latest run) as JSON.")

        @OptionGroup var admin: AdminOptions
        @OptionGroup var target: SessionArguments

        func run() async throws {
            let client = try await admin.client()
            let body = try await client.get(try target.path(admin: admin))
            let object = try JSONSerialization.jsonObject(with: Data(body.readableBytesView))
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End a session now, whoever owns it: its sandbox is destroyed.")

        @OptionGroup var admin: AdminOptions
        @OptionGroup var target: SessionArguments

        func run() async throws {
            let client = try await admin.client()
            try await client.delete(try target.path(admin: admin))
            print("stopped \(target.session)")
        }
    }

    /// The session `show` and `stop` name.
    struct SessionArguments: ParsableArguments {
        @Argument(help: "The agent runtime: its id, ARN, or a name in the dev gateway's dev.json.")
        var agent: String

        @Argument(help: "The runtime session id.")
        var session: String

        func path(admin: AdminOptions) throws -> String {
            let runtimeId = try SessionsCommand.runtimeId(agent, admin: admin)
            return "/admin/runtimes/\(PercentEncoding.encodeSegment(runtimeId))/sessions/\(PercentEncoding.encodeSegment(session))"
        }
    }

    /// A runtime id from an id, an ARN (`…:runtime/<id>`), or a name the dev gateway lists.
    static func runtimeId(_ text: String, admin: AdminOptions) throws -> String {
        if text.hasPrefix("arn:"), let id = text.split(separator: "/").last { return String(id) }
        if AgentRuntimeIdentifier.isValidRuntimeId(text[...]) { return text }
        if let arn = admin.target.devState()?["agents"]?[text]?.stringValue, let id = arn.split(separator: "/").last { return String(id) }
        throw ValidationError("'\(text)' is not an agent runtime id or ARN, nor an agent listed in \(admin.target.data)/dev.json")
    }

    static func columns(_ session: JSONValue) -> [String] {
        let usage = session["usage"]
        return [
            session["runtimeSessionId"]?.stringValue ?? "", session["agentRuntimeId"]?.stringValue ?? "",
            (session["status"]?.stringValue ?? "") + (session["endReason"]?.stringValue.map { " (\($0))" } ?? ""),
            session["startedAt"]?.stringValue.map { String($0.prefix(19)) } ?? "",
            String(Int(usage?["invocations"]?.numberValue ?? 0)),
            String(format: "%.3f", usage?["cpuSeconds"]?.numberValue ?? 0), String(format: "%.3f", usage?["memoryGBSeconds"]?.numberValue ?? 0),
            session["principal"]?.stringValue ?? "",
        ]
    }

    static func row(_ columns: [String]) -> String {
        let widths = [36, 28, 20, 20, 6, 10, 10]
        return zip(columns, widths + [0]).map { text, width in width == 0 ? text : CredentialListing.pad(String(text.prefix(width - 1)), width) }.joined()
    }

    static func jsonLine(_ value: JSONValue) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// `portcullis usage`: usage added up per agent runtime or principal, for chargeback.
struct UsageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usage",
        abstract: "Usage of sandboxed sessions (CPU-seconds, memory GB-seconds, calls, bytes) per agent runtime or principal."
    )

    @OptionGroup var admin: AdminOptions

    @Option(name: .long, help: "agent (default) or principal.")
    var by: String = "agent"

    @Option(name: .long, help: "Sessions started since: an ISO 8601 time or a duration back (default 30d).")
    var since: String = "30d"

    @Option(name: .long, help: "…and before: an ISO 8601 time or a duration back (default now).")
    var until: String?

    @Option(name: .long, help: "table (default), json or csv.")
    var format: String = "table"

    func run() async throws {
        guard ["agent", "principal"].contains(by) else { throw ValidationError("--by takes agent or principal") }
        guard ["table", "json", "csv"].contains(format) else { throw ValidationError("--format takes table, json or csv") }
        let client = try await admin.client()
        let path = "/admin/usage" + AdminClient.query([
            ("by", by), ("since", try AdminClient.time(since, option: "--since")), ("until", try AdminClient.time(until, option: "--until")),
            ("format", format == "csv" ? "csv" : "json"),
        ])
        if format == "csv" {
            FileHandle.standardOutput.write(Data(try await client.get(path).readableBytesView))
            return
        }
        let summary = try await client.getJSON(path)
        if format == "json" {
            print(try SessionsCommand.jsonLine(.object(summary)))
            return
        }
        let key = by == "agent" ? "agentRuntimeId" : "principal"
        print("\(summary["since"]?.stringValue ?? "") … \(summary["until"]?.stringValue ?? "")")
        print(Self.row([by == "agent" ? "AGENT RUNTIME" : "PRINCIPAL", "SESSIONS", "CALLS", "CPU s", "MEM GB·s", "IN bytes", "OUT bytes"]))
        for row in summary["rows"]?.arrayValue ?? [] {
            print(Self.row([
                row[key]?.stringValue ?? "", String(Int(row["sessions"]?.numberValue ?? 0)), String(Int(row["invocations"]?.numberValue ?? 0)),
                String(format: "%.3f", row["cpuSeconds"]?.numberValue ?? 0), String(format: "%.3f", row["memoryGBSeconds"]?.numberValue ?? 0),
                String(Int(row["bytesIn"]?.numberValue ?? 0)), String(Int(row["bytesOut"]?.numberValue ?? 0)),
            ]))
        }
    }

    static func row(_ columns: [String]) -> String {
        let widths = [40, 10, 10, 12, 12, 14]
        return zip(columns, widths + [0]).map { text, width in width == 0 ? text : CredentialListing.pad(String(text.prefix(width - 1)), width) }.joined()
    }
}
