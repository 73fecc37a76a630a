import Foundation
import PortcullisCore

/// Okta custom authorization servers. Client id in `cid`, user id in `uid`, scopes in `scp` as an array.
///
/// Tokens from the org authorization server (`iss` = `https://{org}.okta.com`, no `/oauth2/{id}` path) are for
/// Okta's own APIs; Okta may change their format at any time and they cannot be validated for third-party use,
/// so they are refused.
struct OktaProfile: IssuerProfile {
    var defaultClaims: ClaimNames {
        ClaimNames(subject: ["sub"], groups: "groups", scopes: ["scp", "scope"], clientId: ["cid"], tenant: nil, displayName: ["sub"])
    }

    func check(_ claims: JWTClaims, header: JOSEHeader, metadataIssuer: String, configuration: IssuerConfiguration) throws(AuthenticationError) {
        guard Self.isCustomAuthorizationServer(claims.issuer) else {
            throw AuthenticationError(.tokenRefused, "an Okta org authorization server token; only custom authorization servers are accepted")
        }
    }

    static func isCustomAuthorizationServer(_ issuer: String) -> Bool {
        guard let path = URLComponents(string: issuer)?.path else { return false }
        let parts = path.split(separator: "/")
        return parts.count == 2 && parts[0] == "oauth2"
    }
}
