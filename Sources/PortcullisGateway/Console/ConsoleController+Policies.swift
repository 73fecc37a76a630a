import Cedar
import Foundation
import Hummingbird
import PortcullisCore
import PortcullisPolicy

/// The console's policy page: the set in force, each policy where it is written, and what is wrong with the
/// directory when its latest edit was refused (the previous set then stays in force).
extension ConsoleController {
    @Sendable func policiesPage(_ viewer: Viewer, _ request: Request, _ context: GatewayRequestContext) async throws -> Content {
        try gate.authorize(viewer.principal, .getPolicySet, .gateway, request, context)
        let status = policies.status
        let bundle = policies.engine.current
        var body = ConsoleHTML.facts([
            ("Directory", policies.path),
            ("In force since", ConsoleHTML.time(status.activatedAt)),
            ("Digest", status.activeDigest),
            ("Policies", "\(bundle.policies.policies.count) policies, \(bundle.policies.templates.count) templates in \(bundle.files.policies.count) files"
                + (bundle.schema == nil ? "; no schema" : "; validated against \(PolicyFiles.schemaFileName)")),
        ])
        if status.problems.isEmpty {
            body += ConsoleHTML.paragraph("The directory's files are the set in force.", className: "allowed")
        } else {
            body += ConsoleHTML.heading("Problems")
            let since = status.refusedSince.map { " since \(ConsoleHTML.time($0))" } ?? ""
            body += ConsoleHTML.paragraph(
                "The directory has been refused\(since): the set above stays in force until these are fixed.", className: "problem"
            )
            body += ConsoleHTML.table(
                ["File", "Line", "Column", "Problem"],
                status.problems.map { problem in
                    [.code(problem.file), .number(problem.line.map(String.init) ?? ""), .number(problem.column.map(String.init) ?? ""), .text(problem.message)]
                },
                empty: ""
            )
        }

        body += ConsoleHTML.heading("Policies in force")
        body += ConsoleHTML.table(
            ["Id", "Effect", "Written at", "Policy"],
            bundle.policies.policies.map { policy in
                [
                    .code(policy.id.rawValue), .text(policy.effect.rawValue), .code(bundle.location(of: policy.id) ?? ""),
                    .code(Self.oneLine(bundle.text(of: policy.id) ?? "")),
                ]
            },
            empty: "No policies: every request is denied."
        )
        body += ConsoleHTML.heading("Files")
        for file in bundle.files.all {
            body += ConsoleHTML.collapsed("\(file.name) (\(file.text.split(separator: "\n", omittingEmptySubsequences: false).count) lines)", body: ConsoleHTML.preformatted(file.text))
        }
        return Content(title: "Policies", body: body)
    }

    /// A policy on one line, comment lines dropped, for the table (the file view shows it as written).
    static func oneLine(_ text: String) -> String {
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        return abbreviated(lines.filter { !$0.isEmpty && !$0.hasPrefix("//") }.joined(separator: " "))
    }
}
