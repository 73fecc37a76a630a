/// The functions and methods of Cedar's extension types.
enum ExtensionFunction: String, Hashable, Sendable, CaseIterable {
    case ip, isIpv4, isIpv6, isLoopback, isMulticast, isInRange
    case decimal, lessThan, lessThanOrEqual, greaterThan, greaterThanOrEqual
    case datetime, duration, offset, durationSince, toDate, toTime
    case toMilliseconds, toSeconds, toMinutes, toHours, toDays

    /// Constructors are called as functions (`ip("…")`); everything else as methods.
    var isConstructor: Bool {
        switch self {
        case .ip, .decimal, .datetime, .duration: return true
        default: return false
        }
    }

    /// The number of arguments, counting a method's receiver.
    var arity: Int {
        switch self {
        case .ip, .decimal, .datetime, .duration: return 1
        case .isIpv4, .isIpv6, .isLoopback, .isMulticast, .toDate, .toTime: return 1
        case .toMilliseconds, .toSeconds, .toMinutes, .toHours, .toDays: return 1
        case .isInRange, .lessThan, .lessThanOrEqual, .greaterThan, .greaterThanOrEqual: return 2
        case .offset, .durationSince: return 2
        }
    }
}
