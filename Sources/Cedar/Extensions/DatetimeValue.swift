/// An instant in milliseconds since the Unix epoch (UTC), the value of Cedar's `datetime` extension type.
public struct DatetimeValue: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public let millisecondsSinceEpoch: Int64

    /// Creates a datetime from milliseconds since the epoch.
    public init(millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    /// Parses `YYYY-MM-DD`, optionally followed by `Thh:mm:ss`, optional `.SSS`, and `Z` or `±hhmm`.
    public init?(parsing text: String) {
        let bytes = Array(text.utf8)
        func number(_ start: Int, _ count: Int) -> Int64? {
            guard start + count <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[start..<(start + count)] {
                guard isASCIIDigit(byte) else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            return value
        }
        func byte(_ index: Int, is character: Unicode.Scalar) -> Bool {
            index < bytes.count && bytes[index] == UInt8(ascii: character)
        }
        guard let year = number(0, 4), byte(4, is: "-"), let month = number(5, 2), byte(7, is: "-"),
              let day = number(8, 2), (1...12).contains(month),
              (1...Self.daysInMonth(year: year, month: month)).contains(day) else { return nil }
        var millis = Self.daysFromCivil(year: year, month: month, day: day) * DurationValue.millisecondsPerDay
        if bytes.count == 10 {
            millisecondsSinceEpoch = millis
            return
        }
        guard byte(10, is: "T"), let hour = number(11, 2), byte(13, is: ":"), let minute = number(14, 2),
              byte(16, is: ":"), let second = number(17, 2), hour < 24, minute < 60, second < 60 else { return nil }
        millis += ((hour * 60 + minute) * 60 + second) * 1000
        var index = 19
        if byte(index, is: ".") {
            guard let fraction = number(index + 1, 3) else { return nil }
            millis += fraction
            index += 4
        }
        if byte(index, is: "Z") {
            guard index + 1 == bytes.count else { return nil }
        } else if byte(index, is: "+") || byte(index, is: "-") {
            guard index + 5 == bytes.count, let offsetHours = number(index + 1, 2),
                  let offsetMinutes = number(index + 3, 2), offsetHours < 24, offsetMinutes < 60 else { return nil }
            let offset = (offsetHours * 60 + offsetMinutes) * 60_000
            // A positive offset means local time is ahead of UTC.
            millis += byte(index, is: "+") ? -offset : offset
        } else {
            return nil
        }
        millisecondsSinceEpoch = millis
    }

    public static func < (lhs: DatetimeValue, rhs: DatetimeValue) -> Bool {
        lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch
    }

    public var description: String { iso8601 ?? "\(millisecondsSinceEpoch)ms since epoch" }

    /// `YYYY-MM-DDThh:mm:ss.SSSZ`, the form `datetime()` reads back; nil outside the years 0000–9999 it can write.
    public var iso8601: String? {
        let day = DurationValue.millisecondsPerDay
        var days = millisecondsSinceEpoch / day
        var remainder = millisecondsSinceEpoch % day
        if remainder < 0 {
            remainder += day
            days -= 1
        }
        let (year, month, dayOfMonth) = Self.civil(fromDays: days)
        guard (0...9999).contains(year) else { return nil }
        func digits(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let seconds = remainder / 1000
        return digits(year, 4) + "-" + digits(month, 2) + "-" + digits(dayOfMonth, 2) + "T"
            + digits(seconds / 3600, 2) + ":" + digits(seconds / 60 % 60, 2) + ":" + digits(seconds % 60, 2) + "."
            + digits(remainder % 1000, 3) + "Z"
    }

    /// The instant `duration` later, or nil on overflow.
    func offset(by duration: DurationValue) -> DatetimeValue? {
        let (sum, overflow) = millisecondsSinceEpoch.addingReportingOverflow(duration.milliseconds)
        return overflow ? nil : DatetimeValue(millisecondsSinceEpoch: sum)
    }

    /// The span from `other` to this instant, or nil on overflow.
    func duration(since other: DatetimeValue) -> DurationValue? {
        let (difference, overflow) = millisecondsSinceEpoch.subtractingReportingOverflow(other.millisecondsSinceEpoch)
        return overflow ? nil : DurationValue(milliseconds: difference)
    }

    /// Midnight UTC of this instant's day, rounding toward the past; nil on overflow.
    func date() -> DatetimeValue? {
        let day = DurationValue.millisecondsPerDay
        let remainder = millisecondsSinceEpoch % day
        if remainder == 0 { return self }
        if millisecondsSinceEpoch > 0 { return DatetimeValue(millisecondsSinceEpoch: millisecondsSinceEpoch - remainder) }
        let (value, overflow) = (millisecondsSinceEpoch - remainder).subtractingReportingOverflow(day)
        return overflow ? nil : DatetimeValue(millisecondsSinceEpoch: value)
    }

    /// The time elapsed since this instant's midnight UTC.
    func timeOfDay() -> DurationValue {
        let day = DurationValue.millisecondsPerDay
        let remainder = millisecondsSinceEpoch % day
        return DurationValue(milliseconds: remainder < 0 ? remainder + day : remainder)
    }

    private static func isLeapYear(_ year: Int64) -> Bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    private static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: return isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// The proleptic Gregorian date of a day count since 1970-01-01 (the inverse of `daysFromCivil`).
    private static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    private static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
