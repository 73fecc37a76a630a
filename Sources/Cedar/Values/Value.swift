/// A Cedar runtime value.
///
/// Equality follows Cedar: sets compare as sets, records by their keys and values,
/// and values of different kinds are simply unequal.
public enum Value: Hashable, Sendable {
    /// `true` or `false`.
    case bool(Bool)
    /// A 64-bit signed integer; arithmetic that overflows is an error.
    case long(Int64)
    /// A string of Unicode scalars.
    case string(String)
    /// A reference to an entity.
    case entity(EntityUID)
    /// An unordered set without duplicates.
    case set(Set<Value>)
    /// A record of named values.
    case record([String: Value])
    /// An `ipaddr` extension value.
    case ipaddr(IPAddress)
    /// A `decimal` extension value.
    case decimal(DecimalValue)
    /// A `datetime` extension value.
    case datetime(DatetimeValue)
    /// A `duration` extension value.
    case duration(DurationValue)
}

extension Value: ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral, ExpressibleByStringLiteral {
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int64) { self = .long(value) }
    public init(stringLiteral value: String) { self = .string(value) }
}
