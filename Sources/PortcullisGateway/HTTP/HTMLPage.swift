import HTTPTypes
import Hummingbird
import NIOCore

/// A small server-rendered page: everything interpolated is escaped, and the page forbids framing and scripts
/// from anywhere.
struct HTMLPage: Sendable {
    var title: String
    /// Body HTML, built only from literals and ``escape(_:)``d values.
    var body: String
    /// HTML above the heading (the admin console's navigation), built the same way.
    var header: String = ""
    /// Room for tables (the admin console) instead of a narrow column of text.
    var wide = false
    /// Reload the page this often, without scripts (`<meta http-equiv="refresh">`).
    var refreshSeconds: Int?
    /// `no-referrer` keeps codes and states in URLs from reaching other sites. Pages whose forms post back to
    /// the gateway use `same-origin`: under `no-referrer` a browser sends `Origin: null`, which proves nothing.
    var referrerPolicy = "no-referrer"

    static func escape(_ text: String) -> String {
        var output = ""
        output.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\"": output += "&quot;"
            case "'": output += "&#39;"
            default: output.unicodeScalars.append(character)
            }
        }
        return output
    }

    func response(status: HTTPResponse.Status = .ok) -> Response {
        let refresh = refreshSeconds.map { "<meta http-equiv=\"refresh\" content=\"\($0)\">" } ?? ""
        let html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">\(refresh)
            <title>\(Self.escape(title))</title>
            <style>\(wide ? Self.wideStyle : Self.narrowStyle)</style>
            </head><body>\(header)<h1>\(Self.escape(title))</h1>
            \(body)
            </body></html>
            """
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        headers[HTTPField.Name("Content-Security-Policy")!] = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http: https:; frame-ancestors 'none'"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        headers[HTTPField.Name("Referrer-Policy")!] = referrerPolicy
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    private static let narrowStyle = """
        body{font:16px system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem}
        button{font:inherit;padding:.5rem 1rem;margin:.25rem 0;cursor:pointer}code{background:#eee;padding:0 .2rem}
        """

    private static let wideStyle = """
        body{font:15px system-ui,sans-serif;margin:1rem 1.5rem}
        nav{display:flex;gap:1.25rem;align-items:baseline;border-bottom:1px solid #ccc;padding:.5rem 0}
        nav form{margin-left:auto}nav a{text-decoration:none}
        table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem;font-size:14px}
        th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #e3e3e3;vertical-align:top}
        th{background:#f4f4f4}td.number{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}td.time{white-space:nowrap}
        td code{word-break:break-all}code,pre{background:#f2f2f2;padding:0 .2rem}pre{padding:.5rem;overflow-x:auto}
        dl{display:grid;grid-template-columns:max-content auto;gap:.25rem 1rem}dt{font-weight:600}dd{margin:0}
        button{font:inherit;padding:.2rem .7rem;cursor:pointer}td form{margin:0}
        form.filters{display:flex;flex-wrap:wrap;gap:.75rem;align-items:end;margin:.5rem 0}
        form.filters label{display:flex;flex-direction:column;font-size:.85rem}
        .allowed{color:#0a6b2d;font-weight:600}.denied,.problem{color:#a4161a;font-weight:600}.muted{color:#666}
        """

    /// Hidden form inputs carrying `fields` along.
    static func hiddenInputs(_ fields: [(String, String)]) -> String {
        fields.map { "<input type=\"hidden\" name=\"\(escape($0.0))\" value=\"\(escape($0.1))\">" }.joined()
    }
}
