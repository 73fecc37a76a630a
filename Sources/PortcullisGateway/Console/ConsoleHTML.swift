import Foundation
import PortcullisCore

/// The pieces the admin console's pages are built from. Text always goes through ``HTMLPage/escape(_:)``; the only
/// raw HTML is the literals here, so a page cannot carry markup that came from a request, a policy or a record.
enum ConsoleHTML {
    /// One table cell, already HTML.
    struct Cell {
        fileprivate let html: String
        /// `number` (right-aligned figures) or `time` (kept on one line).
        fileprivate var className: String?

        static func text(_ text: String) -> Cell { Cell(html: HTMLPage.escape(text)) }
        static func code(_ text: String) -> Cell { Cell(html: "<code>\(HTMLPage.escape(text))</code>") }
        static func number(_ text: String) -> Cell { Cell(html: HTMLPage.escape(text), className: "number") }
        static func time(_ date: Date?) -> Cell { Cell(html: HTMLPage.escape(ConsoleHTML.optionalTime(date)), className: "time") }
        static func link(_ text: String, to path: String) -> Cell { Cell(html: ConsoleHTML.link(text, to: path)) }
        /// A button that posts `fields` (and the form token) to `action`.
        static func button(_ label: String, posting fields: [(String, String)], to action: String, token: String) -> Cell {
            Cell(html: ConsoleHTML.postForm(label, fields: fields, action: action, token: token))
        }
    }

    static func table(_ headers: [String], _ rows: [[Cell]], empty: String) -> String {
        guard !rows.isEmpty else { return paragraph(empty, muted: true) }
        let head = headers.map { "<th>\(HTMLPage.escape($0))</th>" }.joined()
        let body = rows.map { row in
            "<tr>" + row.map { cell in cell.className.map { "<td class=\"\($0)\">\(cell.html)</td>" } ?? "<td>\(cell.html)</td>" }.joined() + "</tr>"
        }.joined(separator: "\n")
        return "<table><thead><tr>\(head)</tr></thead><tbody>\n\(body)\n</tbody></table>"
    }

    static func heading(_ text: String) -> String { "<h2>\(HTMLPage.escape(text))</h2>" }

    static func paragraph(_ text: String, muted: Bool = false, className: String? = nil) -> String {
        let name = className ?? (muted ? "muted" : nil)
        let open = name.map { "<p class=\"\($0)\">" } ?? "<p>"
        return open + HTMLPage.escape(text) + "</p>"
    }

    static func preformatted(_ text: String) -> String { "<pre>\(HTMLPage.escape(text))</pre>" }

    static func link(_ text: String, to path: String) -> String {
        "<a href=\"\(HTMLPage.escape(path))\">\(HTMLPage.escape(text))</a>"
    }

    /// Label–value pairs as a definition list.
    static func facts(_ pairs: [(String, String)]) -> String {
        "<dl>" + pairs.map { "<dt>\(HTMLPage.escape($0.0))</dt><dd>\(HTMLPage.escape($0.1))</dd>" }.joined() + "</dl>"
    }

    /// A collapsed section: the summary shows, the body opens on a click (no script needed).
    static func collapsed(_ summary: String, body: String) -> String {
        "<details><summary>\(HTMLPage.escape(summary))</summary>\(body)</details>"
    }

    static func postForm(_ label: String, fields: [(String, String)], action: String, token: String) -> String {
        "<form method=\"post\" action=\"\(HTMLPage.escape(action))\">" + HTMLPage.hiddenInputs(fields + [(ConsoleForms.tokenField, token)])
            + "<button type=\"submit\">\(HTMLPage.escape(label))</button></form>"
    }

    // MARK: - Form controls (GET forms: filters and the playground)

    static func textInput(_ label: String, name: String, value: String?, placeholder: String = "", width: Int = 14) -> String {
        "<label>\(HTMLPage.escape(label))<input type=\"text\" name=\"\(HTMLPage.escape(name))\" value=\"\(HTMLPage.escape(value ?? ""))\" "
            + "placeholder=\"\(HTMLPage.escape(placeholder))\" size=\"\(width)\"></label>"
    }

    /// A `<select>`; `options` are (value, label) pairs and the one equal to `selected` is chosen.
    static func select(_ label: String, name: String, options: [(String, String)], selected: String?) -> String {
        let choices = options.map { option in
            "<option value=\"\(HTMLPage.escape(option.0))\"\(option.0 == selected ? " selected" : "")>\(HTMLPage.escape(option.1))</option>"
        }.joined()
        return "<label>\(HTMLPage.escape(label))<select name=\"\(HTMLPage.escape(name))\">\(choices)</select></label>"
    }

    static func getForm(action: String, controls: [String], submit: String) -> String {
        "<form class=\"filters\" method=\"get\" action=\"\(HTMLPage.escape(action))\">" + controls.joined()
            + "<button type=\"submit\">\(HTMLPage.escape(submit))</button></form>"
    }

    // MARK: - Values

    static func time(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(dateSeparator: .dash, dateTimeSeparator: .space, timeSeparator: .colon))
    }

    static func optionalTime(_ date: Date?) -> String { date.map(time) ?? "—" }

    static func bytes(_ count: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }

    static func decimal(_ value: Double, digits: Int = 2) -> String { String(format: "%.\(digits)f", value) }

    /// `path?name=value&…` with the present, non-empty values, form-encoded.
    static func path(_ path: String, _ query: [(String, String?)]) -> String {
        let pairs = query.compactMap { name, value in value.flatMap { $0.isEmpty ? nil : (name, $0) } }
        return pairs.isEmpty ? path : path + "?" + PercentEncoding.encodeForm(pairs)
    }
}
