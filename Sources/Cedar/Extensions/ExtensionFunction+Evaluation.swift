extension ExtensionFunction {
    /// Applies the function to already evaluated arguments (a method's receiver first).
    ///
    /// The parser accepts any number of arguments, as Cedar's does; a wrong count fails here.
    func apply(to arguments: [Value]) throws(EvaluationFailure) -> Value {
        guard arguments.count == arity else {
            throw EvaluationFailure(code: .extensionError, message: "wrong number of arguments to `\(rawValue)`: expected \(arity), got \(arguments.count)")
        }
        switch self {
        case .ip:
            let text = try string(arguments[0])
            guard let address = IPAddress(parsing: text) else { throw invalid("IP address", text) }
            return .ipaddr(address)
        case .decimal:
            let text = try string(arguments[0])
            guard let number = DecimalValue(parsing: text) else { throw invalid("decimal", text) }
            return .decimal(number)
        case .datetime:
            let text = try string(arguments[0])
            guard let instant = DatetimeValue(parsing: text) else { throw invalid("datetime", text) }
            return .datetime(instant)
        case .duration:
            let text = try string(arguments[0])
            guard let span = DurationValue(parsing: text) else { throw invalid("duration", text) }
            return .duration(span)
        case .isIpv4: return .bool(try ipaddr(arguments[0]).isIPv4)
        case .isIpv6: return .bool(!(try ipaddr(arguments[0]).isIPv4))
        case .isLoopback: return .bool(try ipaddr(arguments[0]).isLoopback)
        case .isMulticast: return .bool(try ipaddr(arguments[0]).isMulticast)
        case .isInRange: return .bool(try ipaddr(arguments[0]).isInRange(ipaddr(arguments[1])))
        case .lessThan: return .bool(try decimal(arguments[0]) < decimal(arguments[1]))
        case .lessThanOrEqual: return .bool(try decimal(arguments[0]) <= decimal(arguments[1]))
        case .greaterThan: return .bool(try decimal(arguments[0]) > decimal(arguments[1]))
        case .greaterThanOrEqual: return .bool(try decimal(arguments[0]) >= decimal(arguments[1]))
        case .offset:
            let (instant, span) = (try datetime(arguments[0]), try duration(arguments[1]))
            guard let result = instant.offset(by: span) else { throw overflow() }
            return .datetime(result)
        case .durationSince:
            let (instant, other) = (try datetime(arguments[0]), try datetime(arguments[1]))
            guard let result = instant.duration(since: other) else { throw overflow() }
            return .duration(result)
        case .toDate:
            guard let result = try datetime(arguments[0]).date() else { throw overflow() }
            return .datetime(result)
        case .toTime: return .duration(try datetime(arguments[0]).timeOfDay())
        case .toMilliseconds: return .long(try duration(arguments[0]).milliseconds)
        case .toSeconds: return .long(try duration(arguments[0]).milliseconds / 1_000)
        case .toMinutes: return .long(try duration(arguments[0]).milliseconds / 60_000)
        case .toHours: return .long(try duration(arguments[0]).milliseconds / 3_600_000)
        case .toDays: return .long(try duration(arguments[0]).milliseconds / DurationValue.millisecondsPerDay)
        }
    }

    private func invalid(_ kind: String, _ text: String) -> EvaluationFailure {
        EvaluationFailure(code: .extensionError, message: "error while evaluating `\(rawValue)`: \(quotedCedarString(text)) is not a valid \(kind)")
    }

    private func overflow() -> EvaluationFailure {
        EvaluationFailure(code: .extensionError, message: "error while evaluating `\(rawValue)`: the result overflows")
    }

    private func string(_ value: Value) throws(EvaluationFailure) -> String {
        guard case .string(let text) = value else { throw .typeError(expected: "string", got: value) }
        return text
    }

    private func ipaddr(_ value: Value) throws(EvaluationFailure) -> IPAddress {
        guard case .ipaddr(let address) = value else { throw .typeError(expected: "ipaddr", got: value) }
        return address
    }

    private func decimal(_ value: Value) throws(EvaluationFailure) -> DecimalValue {
        guard case .decimal(let number) = value else { throw .typeError(expected: "decimal", got: value) }
        return number
    }

    private func datetime(_ value: Value) throws(EvaluationFailure) -> DatetimeValue {
        guard case .datetime(let instant) = value else { throw .typeError(expected: "datetime", got: value) }
        return instant
    }

    private func duration(_ value: Value) throws(EvaluationFailure) -> DurationValue {
        guard case .duration(let span) = value else { throw .typeError(expected: "duration", got: value) }
        return span
    }
}
