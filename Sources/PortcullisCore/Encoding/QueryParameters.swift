/// Decoded query parameters (and `application/x-www-form-urlencoded` bodies). A name given twice keeps its first value; malformed escapes make the whole query
/// invalid rather than silently dropping a parameter.
public struct QueryParameters: Sendable {
    private var values: [String: String] = [:]
    public private(set) var isValid = true

    public init(_ rawQuery: String?) {
        guard let rawQuery, !rawQuery.isEmpty else { return }
        for pair in rawQuery.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = PercentEncoding.decode(parts[0], plusAsSpace: true),
                let value = PercentEncoding.decode(parts.count > 1 ? parts[1] : "", plusAsSpace: true)
            else {
                isValid = false
                return
            }
            if values[name] == nil { values[name] = value }
        }
    }

    public subscript(name: String) -> String? { values[name] }

    /// Every parameter whose name starts with `prefix` (compared case-insensitively).
    public func withPrefix(_ prefix: String) -> [(name: String, value: String)] {
        let lowered = prefix.lowercased()
        return values.filter { $0.key.lowercased().hasPrefix(lowered) }.map { ($0.key, $0.value) }.sorted { $0.name < $1.name }
    }

    /// Throws `ValidationException` when the query had a malformed escape.
    public func validate() throws(AgentCoreError) {
        guard isValid else { throw AgentCoreError.cannotParse("The query string has a malformed percent escape") }
    }
}
