/// A policy test in the format of Cedar's integration tests: a policies file, an entities file, an optional
/// schema, whether the policies should pass strict validation, and requests with the answers expected for them.
///
/// Paths are kept as written; the caller resolves them (relative to the test file, or a corpus root) and reads
/// the files, so this module stays free of file access.
public struct PolicyTestFile: Sendable {
    /// The `policies` member: a `.cedar` file.
    public let policies: String
    /// The `entities` member: an entities JSON file.
    public let entities: String
    /// The `schema` member, when given.
    public let schema: String?
    /// The `shouldValidate` member: whether strict validation against the schema should accept the policies.
    public let shouldValidate: Bool?
    /// The `requests` member, in order.
    public let cases: [PolicyTestCase]

    public init(json text: String) throws(JSONError) {
        let root = try JSONParser.parse(text)
        guard case .object = root else { throw JSONError(code: .unexpectedShape, message: "a policy test must be a JSON object") }
        policies = try Self.requiredString(root, "policies")
        entities = try Self.requiredString(root, "entities")
        schema = try Self.optionalString(root, "schema")
        switch root["shouldValidate"] {
        case nil, .null?: shouldValidate = nil
        case .bool(let value)?: shouldValidate = value
        case let other?: throw JSONError(code: .unexpectedShape, message: "shouldValidate must be a boolean, found \(other.kindName)")
        }
        var cases: [PolicyTestCase] = []
        switch root["requests"] {
        case nil, .null?: break
        case .array(let items)?:
            for (position, item) in items.enumerated() {
                cases.append(try PolicyTestCase(json: item, position: position))
            }
        case let other?: throw JSONError(code: .unexpectedShape, message: "requests must be an array, found \(other.kindName)")
        }
        self.cases = cases
    }

    static func requiredString(_ object: JSONValue, _ key: String, in place: String = "the test") throws(JSONError) -> String {
        guard let value = try optionalString(object, key, in: place) else {
            throw JSONError(code: .unexpectedShape, message: "\(place) needs a string member '\(key)'")
        }
        return value
    }

    static func optionalString(_ object: JSONValue, _ key: String, in place: String = "the test") throws(JSONError) -> String? {
        switch object[key] {
        case nil, .null?: return nil
        case .string(let text)?: return text
        case let other?: throw JSONError(code: .unexpectedShape, message: "'\(key)' in \(place) must be a string, found \(other.kindName)")
        }
    }
}

/// One request of a policy test and the answer expected for it.
public struct PolicyTestCase: Sendable {
    public let description: String
    public let principal: EntityUID
    public let action: EntityUID
    public let resource: EntityUID
    /// Whether the request itself should be checked against the schema (`validateRequest`).
    public let validateRequest: Bool
    public let expectedDecision: Response.Decision
    /// The determining policy ids expected, compared as a set.
    public let expectedReasons: Set<String>
    /// How many evaluation errors are expected; the messages differ between implementations.
    public let expectedErrorCount: Int
    let context: JSONValue

    init(json: JSONValue, position: Int) throws(JSONError) {
        let place = "request \(position + 1)"
        guard case .object = json else { throw JSONError(code: .unexpectedShape, message: "\(place) must be a JSON object") }
        description = try PolicyTestFile.optionalString(json, "description", in: place) ?? place
        principal = try JSONValueDecoder.entityUID(from: json["principal"] ?? .null, place: "\(place) principal")
        action = try JSONValueDecoder.entityUID(from: json["action"] ?? .null, place: "\(place) action")
        resource = try JSONValueDecoder.entityUID(from: json["resource"] ?? .null, place: "\(place) resource")
        context = json["context"] ?? .object([])
        if case .bool(true)? = json["validateRequest"] { validateRequest = true } else { validateRequest = false }
        switch try PolicyTestFile.requiredString(json, "decision", in: place).lowercased() {
        case "allow": expectedDecision = .allow
        case "deny": expectedDecision = .deny
        case let other: throw JSONError(code: .unexpectedShape, message: "\(place): decision must be \"allow\" or \"deny\", found \"\(other)\"")
        }
        expectedReasons = try Self.strings(json["reason"], "reason", place)
        expectedErrorCount = try Self.count(json["errors"], "errors", place)
    }

    /// The request, with its context read as the schema's types for the action when a schema is given.
    public func request(schema: Schema?) throws(JSONError) -> Request {
        Request(principal: principal, action: action, resource: resource, context: try Request.context(json: context, schema: schema, action: action))
    }

    /// How `response` compares with what this case expects.
    public func compare(_ response: Response) -> PolicyTestComparison {
        PolicyTestComparison(
            expected: self,
            response: response,
            decisionMatches: response.decision == expectedDecision,
            reasonsMatch: Set(response.determiningPolicies.map(\.rawValue)) == expectedReasons,
            errorsMatch: response.errors.count == expectedErrorCount
        )
    }

    private static func strings(_ json: JSONValue?, _ key: String, _ place: String) throws(JSONError) -> Set<String> {
        switch json {
        case nil, .null?: return []
        case .array(let items)?:
            var result: Set<String> = []
            for item in items {
                guard case .string(let text) = item else { throw JSONError(code: .unexpectedShape, message: "\(place): '\(key)' must hold strings") }
                result.insert(text)
            }
            return result
        case let other?: throw JSONError(code: .unexpectedShape, message: "\(place): '\(key)' must be an array, found \(other.kindName)")
        }
    }

    private static func count(_ json: JSONValue?, _ key: String, _ place: String) throws(JSONError) -> Int {
        switch json {
        case nil, .null?: return 0
        case .array(let items)?: return items.count
        case let other?: throw JSONError(code: .unexpectedShape, message: "\(place): '\(key)' must be an array, found \(other.kindName)")
        }
    }
}

/// A request's answer next to the expected one.
public struct PolicyTestComparison: Sendable {
    public let expected: PolicyTestCase
    public let response: Response
    public let decisionMatches: Bool
    public let reasonsMatch: Bool
    public let errorsMatch: Bool

    public var passed: Bool { decisionMatches && reasonsMatch && errorsMatch }

    /// What differs, one phrase per field, for a person reading a failed test.
    public var problems: [String] {
        var problems: [String] = []
        if !decisionMatches { problems.append("decision \(response.decision.rawValue), expected \(expected.expectedDecision.rawValue)") }
        if !reasonsMatch {
            let reasons = response.determiningPolicies.map(\.rawValue).sorted()
            problems.append("reasons \(reasons), expected \(expected.expectedReasons.sorted())")
        }
        if !errorsMatch {
            problems.append("\(response.errors.count) errors \(response.errors.map(\.description)), expected \(expected.expectedErrorCount)")
        }
        return problems
    }
}
