import ArgumentParser
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PortcullisCore
import PortcullisIdentity
import ServiceLifecycle

/// `portcullis login`: signs a person in at a terminal through one of the gateway's issuers and keeps the token
/// for `portcullis invoke` — by a browser redirect to a loopback port (RFC 8252), or by the device flow
/// (RFC 8628) where no browser runs on this machine.
struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Sign in through the gateway's identity provider and keep the token for `portcullis invoke`."
    )

    @OptionGroup var target: GatewayOptions

    @Option(name: .long, help: "The issuer to sign in with (see the gateway's /auth/issuers); needed when it has several.")
    var issuer: String?

    @Flag(name: .long, help: "Use the device flow: approve a code on another device instead of a browser redirect here.")
    var device = false

    @Option(name: .long, help: "Seconds to wait for the sign-in to complete.")
    var timeout: Int = 300

    func run() async throws {
        let gateway = try target.url()
        let chosen = try await Self.issuer(named: issuer, at: gateway)
        guard let tokenEndpoint = chosen["tokenEndpoint"]?.stringValue, let name = chosen["name"]?.stringValue,
            let clientId = chosen["cliClientId"]?.stringValue
        else {
            throw CommandFailure("The gateway lists the issuer without a token endpoint")
        }
        let scopes = chosen["scopes"].map { $0.arrayValue.compactMap(\.stringValue) } ?? ["openid"]
        let client = OAuthClient(clientId: clientId, clientSecret: nil)
        let tokens: OAuthTokenResponse
        if device {
            guard let endpoint = chosen["deviceAuthorizationEndpoint"]?.stringValue else {
                throw ValidationError("Issuer \(name) does not offer the device flow; sign in without --device")
            }
            let authorization = try await client.startDeviceAuthorization(endpoint: endpoint, scopes: scopes)
            print("To sign in, open \(authorization.verificationURIComplete ?? authorization.verificationURI) and confirm the code \(authorization.userCode)")
            fflush(nil)
            tokens = try await client.pollDeviceToken(authorization, tokenEndpoint: tokenEndpoint)
        } else {
            guard let endpoint = chosen["authorizationEndpoint"]?.stringValue else {
                throw ValidationError("Issuer \(name) lists no authorization endpoint")
            }
            tokens = try await Self.browserSignIn(client: client, authorizationEndpoint: endpoint, tokenEndpoint: tokenEndpoint, scopes: scopes, timeout: timeout)
        }
        let expiresAt = tokens.expiresIn.map { Date().addingTimeInterval(TimeInterval($0)) }
        try TokenFile().save(
            TokenFile.Entry(
                gateway: gateway,
                issuer: name,
                accessToken: tokens.accessToken,
                refreshToken: tokens.refreshToken,
                expiresAt: expiresAt,
                tokenEndpoint: tokenEndpoint,
                clientId: clientId
            )
        )
        print("Signed in to \(gateway) through \(name)" + (expiresAt.map { "; the token expires at \($0.formatted(.iso8601))" } ?? "") + ".")
    }

    /// The issuer entry from the gateway's `/auth/issuers`.
    static func issuer(named name: String?, at gateway: String) async throws -> [String: JSONValue] {
        let response: IdentityHTTPClient.Response
        do {
            response = try await IdentityHTTPClient.shared.get(gateway + "/auth/issuers", timeout: .seconds(15), maxBytes: 256 * 1024)
        } catch {
            throw CommandFailure("Cannot reach \(gateway): \(error.description)")
        }
        let entries = ((try? StrictJSON.parseObject(response.body))?["issuers"]?.arrayValue ?? []).compactMap(\.objectValue)
        let names = entries.compactMap { $0["name"]?.stringValue }
        guard !entries.isEmpty else { throw CommandFailure("\(gateway) offers no sign-in") }
        if let name {
            guard let entry = entries.first(where: { $0["name"]?.stringValue == name }) else {
                throw ValidationError("\(gateway) has no issuer \(name); it offers \(names.joined(separator: ", "))")
            }
            return entry
        }
        guard entries.count == 1 else { throw ValidationError("Choose an issuer with --issuer: \(names.joined(separator: ", "))") }
        return entries[0]
    }

    /// The code flow with PKCE through a loopback redirect: a one-route listener on 127.0.0.1 receives the code.
    static func browserSignIn(
        client: OAuthClient,
        authorizationEndpoint: String,
        tokenEndpoint: String,
        scopes: [String],
        timeout: Int
    ) async throws -> OAuthTokenResponse {
        let state = PKCE.randomToken()
        let pkce = PKCE()
        let (callbacks, continuation) = AsyncStream<QueryParameters>.makeStream()
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let router = Router()
        router.get("/callback") { request, _ -> Response in
            continuation.yield(QueryParameters(request.uri.query))
            return Response(
                status: .ok,
                headers: [.contentType: "text/html; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: "<!doctype html><p>Signed in to Portcullis. You can close this window.</p>"))
            )
        }
        let logger = LoggingSetup.logger(level: "error")
        let app = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: logger
        )
        let server = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: logger)
        return try await withThrowingTaskGroup(of: OAuthTokenResponse?.self) { group in
            group.addTask {
                try await server.run()
                return nil
            }
            group.addTask {
                try await Task.sleep(for: .seconds(timeout))
                throw CommandFailure("The sign-in did not complete within \(timeout) s")
            }
            group.addTask {
                var portIterator = ports.makeAsyncIterator()
                guard let port = await portIterator.next(), port > 0 else { throw CommandFailure("Cannot listen on 127.0.0.1") }
                let redirectURI = "http://127.0.0.1:\(port)/callback"
                let url = client.authorizationURL(
                    endpoint: authorizationEndpoint, redirectURI: redirectURI, scopes: scopes, state: state, nonce: PKCE.randomToken(), pkce: pkce
                )
                print("Open this URL to sign in: \(url)")
                fflush(nil)
                openInBrowser(url)
                for await parameters in callbacks {
                    guard parameters["state"] == state else { continue }
                    if let error = parameters["error"] { throw CommandFailure("The identity provider refused the sign-in: \(error)") }
                    guard let code = parameters["code"] else { continue }
                    return try await client.exchange(code: code, redirectURI: redirectURI, pkce: pkce, tokenEndpoint: tokenEndpoint)
                }
                throw CommandFailure("The sign-in was interrupted")
            }
            do {
                while let result = try await group.next() {
                    if let tokens = result {
                        await server.triggerGracefulShutdown()
                        group.cancelAll()
                        return tokens
                    }
                }
            } catch {
                await server.triggerGracefulShutdown()
                group.cancelAll()
                throw error
            }
            throw CommandFailure("The sign-in was interrupted")
        }
    }

    /// Opens the URL in a desktop browser when there is one; the URL is printed either way.
    static func openInBrowser(_ url: String) {
        let environment = ProcessInfo.processInfo.environment
        guard environment["DISPLAY"] != nil || environment["WAYLAND_DISPLAY"] != nil else { return }
        for opener in ["/usr/bin/xdg-open", "/usr/bin/open"] where FileManager.default.isExecutableFile(atPath: opener) {
            let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
            guard devNull >= 0 else { return }
            defer { close(devNull) }
            guard
                let process = try? ChildProcess(executable: opener, arguments: [url], environment: environment, descriptors: [0: devNull, 1: devNull, 2: devNull])
            else { return }
            // Reaped in the background: the opener hands the URL to the desktop and exits.
            Task { _ = await process.exited() }
            return
        }
    }
}
