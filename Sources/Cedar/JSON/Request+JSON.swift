extension Request {
    /// Reads a request written as `{"principal": {"type", "id"}, "action": …, "resource": …, "context": {…}}`,
    /// the shape of the requests in Cedar's integration tests and what `CedarJSON.text(of: request)` writes.
    public init(json text: String, schema: Schema? = nil) throws(JSONError) {
        let json = try JSONParser.parse(text)
        guard case .object = json else { throw JSONError(code: .unexpectedShape, message: "a request must be a JSON object") }
        let action = try JSONValueDecoder.entityUID(from: json["action"] ?? .null, place: "the request's action")
        self.init(
            principal: try JSONValueDecoder.entityUID(from: json["principal"] ?? .null, place: "the request's principal"),
            action: action,
            resource: try JSONValueDecoder.entityUID(from: json["resource"] ?? .null, place: "the request's resource"),
            context: try Self.context(json: json["context"] ?? .object([]), schema: schema, action: action)
        )
    }

    /// Reads a request context from a JSON object.
    ///
    /// With a schema, values are read as the types the schema declares for `action`'s context.
    public static func context(json text: String, schema: Schema? = nil, action: EntityUID) throws(JSONError) -> [String: Value] {
        try context(json: JSONParser.parse(text), schema: schema, action: action)
    }

    static func context(json: JSONValue, schema: Schema?, action: EntityUID) throws(JSONError) -> [String: Value] {
        guard case .object = json else {
            throw JSONError(code: .unexpectedShape, message: "the context must be a JSON object")
        }
        let type = schema?.actions[action].map { CedarType.record($0.context) }
        guard case .record(let fields) = try JSONValueDecoder(place: "context").decode(json, as: type) else {
            throw JSONError(code: .unexpectedShape, message: "the context must be a record")
        }
        return fields
    }
}
