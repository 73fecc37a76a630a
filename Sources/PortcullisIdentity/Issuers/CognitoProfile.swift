import PortcullisCore

/// Amazon Cognito user pools.
///
/// Access tokens carry no `aud`; the app client is `client_id`. `token_use` tells access from ID tokens, and an ID
/// token is never a bearer credential unless `acceptIdTokens` is set (its client is then its `aud`). Scopes are a
/// space-delimited `scope` string, groups are `cognito:groups`.
struct CognitoProfile: IssuerProfile {
    var defaultClaims: ClaimNames {
        ClaimNames(
            subject: ["sub"],
            groups: "cognito:groups",
            scopes: ["scope"],
            clientId: ["client_id"],
            tenant: nil,
            displayName: ["username", "cognito:username", "email", "sub"]
        )
    }

    func check(_ claims: JWTClaims, header: JOSEHeader, metadataIssuer: String, configuration: IssuerConfiguration) throws(AuthenticationError) {
        switch claims.string("token_use") {
        case "access":
            guard claims.string("client_id") != nil else {
                throw AuthenticationError(.malformedToken, "a Cognito access token without client_id")
            }
        case "id":
            guard configuration.acceptIdTokens else {
                throw AuthenticationError(.wrongTokenType, "a Cognito ID token presented as an access token")
            }
        default:
            throw AuthenticationError(.wrongTokenType, "token_use is neither access nor id")
        }
    }

    func clientId(of claims: JWTClaims, names: ClaimNames) -> String? {
        if claims.string("token_use") == "id", names.clientId == defaultClaims.clientId {
            return claims.audiences.first
        }
        return names.clientId.lazy.compactMap { claims.string($0) }.first
    }
}
