/// A runtime's `authorizerConfiguration.customJWTAuthorizer`: which OAuth bearer tokens may invoke it.
///
/// The semantics are AgentCore's: the token must come from the issuer behind `discoveryUrl`; its `aud` must contain
/// one of `allowedAudience`; its client id (Cognito `client_id`, Okta `cid`, Entra `azp`/`appid`) must be one of
/// `allowedClients`; it must carry at least one of `allowedScopes`; and every `customClaims` rule must hold. Lists
/// that are absent do not constrain.
public struct CustomJWTAuthorizer: Sendable, Equatable {
    public var discoveryURL: String
    public var allowedAudience: [String]?
    public var allowedClients: [String]?
    public var allowedScopes: [String]?
    public var customClaims: [CustomClaimRule]

    public init(
        discoveryURL: String,
        allowedAudience: [String]? = nil,
        allowedClients: [String]? = nil,
        allowedScopes: [String]? = nil,
        customClaims: [CustomClaimRule] = []
    ) {
        self.discoveryURL = discoveryURL
        self.allowedAudience = allowedAudience
        self.allowedClients = allowedClients
        self.allowedScopes = allowedScopes
        self.customClaims = customClaims
    }

    /// The wire suffix every `discoveryUrl` ends with.
    public static let discoverySuffix = "/.well-known/openid-configuration"

    /// Reads and checks the `customJWTAuthorizer` member as the control plane and the configuration file receive it.
    /// - Parameter field: the member's path, for error messages.
    public init(json: JSONValue, field: String = "authorizerConfiguration.customJWTAuthorizer") throws(AgentCoreError) {
        guard case .object(let members) = json else { throw .invalidField(field, "Member must be a structure") }
        let known: Set<String> = [
            "discoveryUrl", "allowedAudience", "allowedClients", "allowedScopes", "customClaims", "privateEndpoint",
            "privateEndpointOverrides",
        ]
        if let unknown = members.keys.sorted().first(where: { !known.contains($0) }) {
            throw .invalidField("\(field).\(unknown)", "Unknown member")
        }
        guard case .string(let url)? = members["discoveryUrl"] else {
            throw .invalidField("\(field).discoveryUrl", "Member is required and must be a string")
        }
        guard url.count <= 2048, url.hasSuffix(Self.discoverySuffix), url.count > Self.discoverySuffix.count,
            url.hasPrefix("https://") || url.hasPrefix("http://")
        else {
            throw .invalidField("\(field).discoveryUrl", "Member must be an http(s) URL ending in \(Self.discoverySuffix)")
        }
        self.discoveryURL = url
        self.allowedAudience = try Self.stringList(members["allowedAudience"], field: "\(field).allowedAudience")
        self.allowedClients = try Self.stringList(members["allowedClients"], field: "\(field).allowedClients")
        self.allowedScopes = try Self.stringList(members["allowedScopes"], field: "\(field).allowedScopes")
        for scope in allowedScopes ?? [] where !Self.isScopeToken(scope) {
            throw .invalidField("\(field).allowedScopes", "Scope '\(scope)' must be 1-255 printable characters without spaces, quotes or backslashes")
        }
        switch members["customClaims"] {
        case nil:
            self.customClaims = []
        case .array(let rules)?:
            guard !rules.isEmpty else { throw .invalidField("\(field).customClaims", "Member must have at least 1 item") }
            self.customClaims = try rules.enumerated().map { index, rule throws(AgentCoreError) in
                try CustomClaimRule(json: rule, field: "\(field).customClaims[\(index)]")
            }
        default:
            throw .invalidField("\(field).customClaims", "Member must be a list")
        }
    }

    /// The authorizer as it appears under `customJWTAuthorizer` on the wire.
    public var json: JSONValue {
        var members: [String: JSONValue] = ["discoveryUrl": .string(discoveryURL)]
        if let allowedAudience { members["allowedAudience"] = .array(allowedAudience.map(JSONValue.string)) }
        if let allowedClients { members["allowedClients"] = .array(allowedClients.map(JSONValue.string)) }
        if let allowedScopes { members["allowedScopes"] = .array(allowedScopes.map(JSONValue.string)) }
        if !customClaims.isEmpty { members["customClaims"] = .array(customClaims.map(\.json)) }
        return .object(members)
    }

    private static func stringList(_ value: JSONValue?, field: String) throws(AgentCoreError) -> [String]? {
        guard let value else { return nil }
        guard case .array(let items) = value else { throw .invalidField(field, "Member must be a list of strings") }
        guard !items.isEmpty else { throw .invalidField(field, "Member must have at least 1 item") }
        guard items.count <= 100 else { throw .invalidField(field, "Member must have at most 100 items") }
        return try items.map { item throws(AgentCoreError) in
            guard case .string(let text) = item, (1...2048).contains(text.utf8.count) else {
                throw .invalidField(field, "Every item must be a string of 1-2048 characters")
            }
            return text
        }
    }

    /// RFC 6749 §3.3 scope-token characters: `%x21 / %x23-5B / %x5D-7E`.
    static func isScopeToken(_ text: String) -> Bool {
        let bytes = text.utf8
        return (1...255).contains(bytes.count)
            && bytes.allSatisfy { $0 == 0x21 || (0x23...0x5B).contains($0) || (0x5D...0x7E).contains($0) }
    }
}

/// One `customClaims` rule: a claim of the token that must have, or contain, given values.
public struct CustomClaimRule: Sendable, Equatable {
    /// How the claim is compared, with the value or values it is compared against.
    public enum Match: Sendable, Equatable {
        /// `STRING` claim, `EQUALS` a string.
        case equals(String)
        /// `STRING_ARRAY` claim that `CONTAINS` a string.
        case contains(String)
        /// `STRING_ARRAY` claim that `CONTAINS_ANY` of several strings.
        case containsAny([String])
    }

    /// The claim's name, taken literally (`cognito:groups` is one name, not a path).
    public var claimName: String
    public var match: Match

    public init(claimName: String, match: Match) {
        self.claimName = claimName
        self.match = match
    }

    init(json: JSONValue, field: String) throws(AgentCoreError) {
        guard case .object(let members) = json else { throw .invalidField(field, "Member must be a structure") }
        guard case .string(let name)? = members["inboundTokenClaimName"], (1...255).contains(name.utf8.count),
            name.utf8.allSatisfy(Self.isClaimNameByte)
        else {
            throw .invalidField("\(field).inboundTokenClaimName", "Member is required and must be 1-255 letters, digits or _ . - : /")
        }
        guard case .string(let valueType)? = members["inboundTokenClaimValueType"], valueType == "STRING" || valueType == "STRING_ARRAY"
        else {
            throw .invalidField("\(field).inboundTokenClaimValueType", "Member must satisfy enum value set: [STRING, STRING_ARRAY]")
        }
        guard case .object(let matchMembers)? = members["authorizingClaimMatchValue"] else {
            throw .invalidField("\(field).authorizingClaimMatchValue", "Member is required")
        }
        guard case .string(let matchOperator)? = matchMembers["claimMatchOperator"] else {
            throw .invalidField("\(field).authorizingClaimMatchValue.claimMatchOperator", "Member must satisfy enum value set: [EQUALS, CONTAINS, CONTAINS_ANY]")
        }
        guard case .object(let valueMembers)? = matchMembers["claimMatchValue"] else {
            throw .invalidField("\(field).authorizingClaimMatchValue.claimMatchValue", "Member is required")
        }
        let valuePath = "\(field).authorizingClaimMatchValue.claimMatchValue"
        let single = try Self.matchString(valueMembers["matchValueString"], field: "\(valuePath).matchValueString")
        let list: [String]?
        if let value = valueMembers["matchValueStringList"] {
            guard case .array(let items) = value, !items.isEmpty else {
                throw .invalidField("\(valuePath).matchValueStringList", "Member must be a non-empty list")
            }
            list = try items.map { item throws(AgentCoreError) in
                try Self.matchString(item, field: "\(valuePath).matchValueStringList")!
            }
        } else {
            list = nil
        }
        switch (valueType, matchOperator, single, list) {
        case ("STRING", "EQUALS", let value?, nil):
            self.match = .equals(value)
        case ("STRING_ARRAY", "CONTAINS", let value?, nil):
            self.match = .contains(value)
        case ("STRING_ARRAY", "CONTAINS_ANY", nil, let values?):
            self.match = .containsAny(values)
        default:
            throw .invalidField(
                "\(field).authorizingClaimMatchValue",
                "Use STRING with EQUALS and matchValueString, STRING_ARRAY with CONTAINS and matchValueString, or STRING_ARRAY with CONTAINS_ANY and matchValueStringList"
            )
        }
        self.claimName = name
    }

    /// Whether the token's claims satisfy this rule. A claim of the wrong type never does.
    public func isSatisfied(by claims: [String: JSONValue]) -> Bool {
        switch (match, claims[claimName]) {
        case (.equals(let expected), .string(let actual)?):
            return actual == expected
        case (.contains(let expected), .array(let items)?):
            return items.contains(.string(expected))
        case (.containsAny(let expected), .array(let items)?):
            return items.contains { item in expected.contains { item == .string($0) } }
        default:
            return false
        }
    }

    var json: JSONValue {
        let (valueType, matchOperator, value): (String, String, JSONValue) =
            switch match {
            case .equals(let text): ("STRING", "EQUALS", .object(["matchValueString": .string(text)]))
            case .contains(let text): ("STRING_ARRAY", "CONTAINS", .object(["matchValueString": .string(text)]))
            case .containsAny(let texts):
                ("STRING_ARRAY", "CONTAINS_ANY", .object(["matchValueStringList": .array(texts.map(JSONValue.string))]))
            }
        return .object([
            "inboundTokenClaimName": .string(claimName),
            "inboundTokenClaimValueType": .string(valueType),
            "authorizingClaimMatchValue": .object(["claimMatchOperator": .string(matchOperator), "claimMatchValue": value]),
        ])
    }

    private static func matchString(_ value: JSONValue?, field: String) throws(AgentCoreError) -> String? {
        guard let value else { return nil }
        guard case .string(let text) = value, (1...255).contains(text.utf8.count), text.utf8.allSatisfy(isMatchValueByte) else {
            throw .invalidField(field, "Values must match [A-Za-z0-9_.-]+ (1-255 characters)")
        }
        return text
    }

    /// The model's pattern `[A-Za-z0-9_.-:]+` is a character range from `.` to `:`, so it also admits `/` (as in
    /// namespaced claims such as `https://example.com/roles`).
    private static func isClaimNameByte(_ byte: UInt8) -> Bool {
        isMatchValueByte(byte) || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "/")
    }

    private static func isMatchValueByte(_ byte: UInt8) -> Bool {
        AgentRuntimeIdentifier.isLetter(byte) || AgentRuntimeIdentifier.isDigit(byte) || byte == UInt8(ascii: "_")
            || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
    }
}
