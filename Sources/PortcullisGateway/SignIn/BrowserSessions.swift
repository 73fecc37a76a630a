import Crypto
import Foundation
import HTTPTypes
import Logging
import PortcullisCore
import PortcullisStore

/// Signed-in browsers: a random cookie naming a stored session (only its SHA-256 is stored) that carries the
/// principal of the ID token that signed it in. The consent and admin pages authenticate people with it.
///
/// The cookie is `HttpOnly`, `SameSite=Lax` and, when the gateway is reached over HTTPS, `Secure` with the
/// `__Host-` prefix (so no subdomain can set or shadow it).
struct BrowserSessions: Sendable {
    let store: any BrowserSessionStore
    let clock: any WallClock
    let lifetime: TimeInterval
    let logger: Logger

    static let secureCookieName = "__Host-portcullis_session"
    static let plainCookieName = "portcullis_session"

    /// Stores a session for `principal`; returns the `Set-Cookie` value.
    func create(for principal: Principal, secure: Bool) async throws -> String {
        let value = Base64URL.encode(SecureRandom.bytes(32))
        let now = clock.now()
        try await store.insertBrowserSession(
            BrowserSessionRecord(
                idHash: Self.hash(value),
                principal: Array(try JSONEncoder().encode(principal)),
                createdAt: now,
                expiresAt: now.addingTimeInterval(lifetime)
            )
        )
        return Self.cookie(name: secure ? Self.secureCookieName : Self.plainCookieName, value: value, maxAge: Int(lifetime), secure: secure)
    }

    /// The principal of the session the request's cookie names, if it is live.
    func principal(for headers: HTTPFields) async -> Principal? {
        guard let value = Self.cookieValue(in: headers) else { return nil }
        do {
            guard let record = try await store.browserSession(idHash: Self.hash(value)), record.expiresAt > clock.now() else { return nil }
            return try JSONDecoder().decode(Principal.self, from: Data(record.principal))
        } catch {
            logger.error("browser session lookup failed", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Ends the request's session; returns the `Set-Cookie` values that clear it in the browser.
    func end(for headers: HTTPFields) async throws -> [String] {
        if let value = Self.cookieValue(in: headers) {
            try await store.deleteBrowserSession(idHash: Self.hash(value))
        }
        return [
            Self.cookie(name: Self.secureCookieName, value: "", maxAge: 0, secure: true),
            Self.cookie(name: Self.plainCookieName, value: "", maxAge: 0, secure: false),
        ]
    }

    static func hash(_ value: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(value.utf8)))
    }

    static func cookieValue(in headers: HTTPFields) -> String? {
        cookies(in: headers)[secureCookieName] ?? cookies(in: headers)[plainCookieName]
    }

    /// The request's cookies (RFC 6265 §5.4); the first of a repeated name wins.
    static func cookies(in headers: HTTPFields) -> [String: String] {
        var cookies: [String: String] = [:]
        for field in headers[values: .cookie] {
            for pair in field.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                let name = parts[0].trimmingCharacters(in: .whitespaces)
                if cookies[name] == nil { cookies[name] = parts[1].trimmingCharacters(in: .whitespaces) }
            }
        }
        return cookies
    }

    static func cookie(name: String, value: String, maxAge: Int, secure: Bool) -> String {
        "\(name)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Lax" + (secure ? "; Secure" : "")
    }
}
