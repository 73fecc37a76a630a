import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PortcullisCore
import PortcullisIdentity
import PortcullisPolicy
import PortcullisStore

/// The admin console: server-rendered pages for administrators, who sign in through an identity provider
/// (`/auth/login`) and are authorized page by page by the same Cedar actions as the admin API — agents and
/// versions (`ListAgentRuntimes`, `GetAgentRuntime`), sessions with a stop button (`ListSessions`,
/// `TerminateSession`), audit search (`GetAuditLog`), the policy set (`GetPolicySet`) and the policy playground
/// (`TestPolicy`). No scripts: pages refresh with `<meta http-equiv="refresh">` and act through forms.
struct ConsoleController: Sendable {
    let gate: AdministratorGate
    let browserSessions: BrowserSessions
    let issuers: IssuerRegistry
    let registry: AgentRuntimeRegistry
    let sessions: SessionsController
    let sandboxesUnavailable: String?
    let sessionRecords: any SessionUsageStore
    let auditRecords: any AuditStore
    let auditLog: AuditLog
    let apiKeys: any APIKeyStore
    let policies: PolicyDirectory
    let baseURL: PublicBaseURL
    let clock: any WallClock

    /// The signed-in administrator looking at a page.
    struct Viewer {
        let principal: Principal
        /// The token the page's forms carry (see ``ConsoleForms``).
        let formToken: String
        let cookie: String
    }

    /// What a page shows under the navigation.
    struct Content {
        var title: String
        var body: String
        var refreshSeconds: Int?
    }

    enum Section: String, CaseIterable {
        case agents, sessions, audit, policies, playground

        var title: String {
            switch self {
            case .agents: "Agents"
            case .sessions: "Sessions"
            case .audit: "Audit log"
            case .policies: "Policies"
            case .playground: "Policy playground"
            }
        }

        var path: String { self == .agents ? "/console" : "/console/\(rawValue)" }
    }

    func register(on router: Router<GatewayRequestContext>) {
        router.get("/console") { request, context in await self.page(.agents, request, context, self.agentsPage) }
        router.get("/console/agents/:runtime") { request, context in await self.page(.agents, request, context, self.agentPage) }
        router.get("/console/sessions") { request, context in await self.page(.sessions, request, context, self.sessionsPage) }
        router.post("/console/sessions/stop") { request, context in await self.action(request, context, self.stopSession) }
        router.get("/console/audit") { request, context in await self.page(.audit, request, context, self.auditPage) }
        router.get("/console/policies") { request, context in await self.page(.policies, request, context, self.policiesPage) }
        router.get("/console/playground") { request, context in await self.page(.playground, request, context, self.playgroundPage) }
    }

    // MARK: - Rendering

    private typealias PageBuilder = @Sendable (Viewer, Request, GatewayRequestContext) async throws -> Content

    /// A page for a signed-in viewer; anyone else gets the sign-in page, and a refusal or bad input its own page.
    private func page(_ section: Section, _ request: Request, _ context: GatewayRequestContext, _ build: PageBuilder) async -> Response {
        guard let viewer = await viewer(request) else { return signInPage(request) }
        do {
            let content = try await build(viewer, request, context)
            return layout(content, section: section, viewer: viewer).response()
        } catch {
            return errorPage(error, section: section, viewer: viewer, requestId: context.requestId)
        }
    }

    /// A form's action: the viewer is checked as for a page, then the handler answers (usually a redirect).
    private func action(
        _ request: Request, _ context: GatewayRequestContext, _ handle: @Sendable (Viewer, Request, GatewayRequestContext) async throws -> Response
    ) async -> Response {
        guard let viewer = await viewer(request) else { return signInPage(request) }
        do {
            return try await handle(viewer, request, context)
        } catch {
            return errorPage(error, section: .sessions, viewer: viewer, requestId: context.requestId)
        }
    }

    private func viewer(_ request: Request) async -> Viewer? {
        guard let cookie = BrowserSessions.cookieValue(in: request.headers), let principal = await browserSessions.principal(for: request.headers) else {
            return nil
        }
        return Viewer(principal: principal, formToken: ConsoleForms.token(forCookie: cookie), cookie: cookie)
    }

    private func layout(_ content: Content, section: Section, viewer: Viewer) -> HTMLPage {
        let links = Section.allCases.map { item in
            item == section ? "<strong>\(HTMLPage.escape(item.title))</strong>" : ConsoleHTML.link(item.title, to: item.path)
        }.joined(separator: " ")
        let navigation = "<nav><strong>Portcullis</strong> \(links)"
            + "<form method=\"post\" action=\"/auth/logout\"><span class=\"muted\">\(HTMLPage.escape(viewer.principal.displayName))</span> "
            + "<button type=\"submit\">Sign out</button></form></nav>"
        return HTMLPage(
            title: content.title, body: content.body, header: navigation, wide: true, refreshSeconds: content.refreshSeconds, referrerPolicy: "same-origin"
        )
    }

    /// Not signed in: the issuers people sign in with, each returning to the page asked for.
    private func signInPage(_ request: Request) -> Response {
        let wanted = request.method == .get ? request.uri.path + (request.uri.query.map { "?" + $0 } ?? "") : "/console"
        let returnTo = SignInController.safeReturnPath(wanted) ?? "/console"
        let choices = issuers.issuers.filter { $0.configuration.signIn != nil }.map { issuer in
            "<li>" + ConsoleHTML.link("Sign in with \(issuer.name)", to: ConsoleHTML.path("/auth/login", [("issuer", issuer.name), ("return_to", returnTo)]))
                + "</li>"
        }
        let body = choices.isEmpty
            ? ConsoleHTML.paragraph("No identity provider offers sign-in here: give an issuer a signIn client (docs/identity.md) to use the console.")
            : ConsoleHTML.paragraph("The console is for administrators. Sign in through your identity provider:") + "<ul>\(choices.joined())</ul>"
        return HTMLPage(title: "Portcullis console", body: body, wide: true).response(status: .unauthorized)
    }

    private func errorPage(_ error: any Error, section: Section, viewer: Viewer, requestId: String) -> Response {
        let failure = error as? AgentCoreError ?? AgentCoreError(.internalServer, "The page could not be built")
        var body = ConsoleHTML.paragraph(failure.message, className: "problem")
        for field in failure.fields {
            body += ConsoleHTML.paragraph("\(field.name): \(field.message)")
        }
        let refusedByPolicy = failure.code == .accessDenied && failure.message == AccessPolicy.deniedMessage
        if refusedByPolicy {
            body += ConsoleHTML.paragraph(
                "Signed in as \(viewer.principal.displayName) (\(viewer.principal.id)). The policies decide what each console page needs "
                    + "(docs/policies.md); an administrator can explain this refusal with portcullis policy explain \(requestId)."
            )
        } else if !(error is AgentCoreError) {
            gate.logger.error("console page failed", metadata: ["error": "\(error)", "request_id": "\(requestId)"])
        }
        let title = refusedByPolicy ? "Not authorized" : failure.code == .accessDenied ? "Refused" : "Cannot show this page"
        return layout(Content(title: title, body: body), section: section, viewer: viewer)
            .response(status: HTTPResponse.Status(code: failure.code.httpStatus))
    }

    // MARK: - Shared inputs

    /// A query parameter, absent when empty, refused when longer than `maxBytes`.
    static func parameter(_ request: Request, _ name: String, maxBytes: Int = 1024) throws(AgentCoreError) -> String? {
        guard let value = request.uri.queryParameters[Substring(name)].map(String.init), !value.isEmpty else { return nil }
        guard value.utf8.count <= maxBytes else { throw AgentCoreError.invalidField(name, "Member must be at most \(maxBytes) bytes") }
        return value
    }

    static func runtimeId(_ text: String?, field: String = "agentRuntimeId") throws(AgentCoreError) -> String? {
        guard let text else { return nil }
        guard AgentRuntimeIdentifier.isValidRuntimeId(text[...]) else {
            throw AgentCoreError.invalidField(field, "Member must satisfy regular expression pattern: [a-zA-Z][a-zA-Z0-9_]{0,99}-[a-zA-Z0-9]{10}")
        }
        return text
    }
}
