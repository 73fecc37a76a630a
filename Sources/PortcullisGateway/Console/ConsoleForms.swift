import Crypto
import HTTPTypes
import Hummingbird
import PortcullisCore

/// The console's POST forms are accepted only from its own pages.
///
/// The session cookie is `SameSite=Lax`, so a cross-site POST arrives without it; on top of that each form carries a
/// token derived from the cookie (another site can read neither), and a browser's `Origin`, when it sends one, must
/// name this gateway.
enum ConsoleForms {
    static let tokenField = "form_token"
    /// A form of the console is a few ids; anything larger is not one of ours.
    static let maxBytes = 16 * 1024

    /// The form token of the browser session `cookie` names.
    static func token(forCookie cookie: String) -> String {
        Base64URL.encode(Array(SHA256.hash(data: Array("portcullis console form\u{0}\(cookie)".utf8))))
    }

    /// Reads a posted form and checks that it came from a console page of this browser session.
    static func read(_ request: Request, cookie: String, baseURL: String?) async throws(AgentCoreError) -> QueryParameters {
        if let origin = request.headers[.origin] {
            guard let baseURL, baseURL == origin || baseURL.hasPrefix(origin + "/") else {
                throw AgentCoreError(.accessDenied, "The form was not sent from this gateway's console")
            }
        }
        let body: String
        do {
            body = String(buffer: try await request.body.collect(upTo: maxBytes))
        } catch {
            throw AgentCoreError.cannotParse("The form is larger than \(maxBytes) bytes")
        }
        let form = QueryParameters(body)
        guard form.isValid else { throw AgentCoreError.cannotParse("The form is not valid application/x-www-form-urlencoded") }
        guard let presented = form[tokenField], ConstantTime.equals(Array(presented.utf8), Array(token(forCookie: cookie).utf8)) else {
            throw AgentCoreError(.accessDenied, "The form has expired or did not come from this console; reload the page and try again")
        }
        return form
    }
}
