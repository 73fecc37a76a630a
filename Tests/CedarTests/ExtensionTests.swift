import Testing
@testable import Cedar

@Suite("Extension types")
struct ExtensionTests {
    @Test("ip addresses, ranges and classes")
    func ipaddr() throws {
        #expect(try Fixture.evaluate(#"ip("10.1.2.3").isInRange(ip("10.0.0.0/8"))"#) == true)
        #expect(try Fixture.evaluate(#"ip("10.0.0.0/7").isInRange(ip("10.0.0.0/8"))"#) == false)
        #expect(try Fixture.evaluate(#"ip("::1").isLoopback() && ip("127.9.9.9").isLoopback()"#) == true)
        #expect(try Fixture.evaluate(#"ip("224.0.0.1").isMulticast() && ip("ff02::1").isMulticast()"#) == true)
        #expect(try Fixture.evaluate(#"ip("224.0.0.0/3").isMulticast()"#) == false)
        #expect(try Fixture.evaluate(#"ip("2001:db8::1").isIpv6() && ip("1.2.3.4").isIpv4()"#) == true)
        #expect(try Fixture.evaluate(#"ip("1.2.3.4").isInRange(ip("::/0"))"#) == false)
    }

    @Test("malformed ip addresses are rejected", arguments: [
        "1.2.3", "1.2.3.256", "01.2.3.4", "1.2.3.4/33", "1.2.3.4/08", "::ffff:1.2.3.4", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "",
    ])
    func badIP(_ text: String) {
        #expect(IPAddress(parsing: text) == nil)
    }

    @Test("IPv6 forms parse", arguments: ["::", "::1", "1::", "fe80::1:2", "1:2:3:4:5:6:7:8", "::/0", "FFFF::/16"])
    func goodIPv6(_ text: String) {
        #expect(IPAddress(parsing: text) != nil)
    }

    @Test("decimals have one to four fractional digits and compare with methods")
    func decimal() throws {
        #expect(DecimalValue(parsing: "1.2345")?.scaled == 12_345)
        #expect(DecimalValue(parsing: "-0.5")?.scaled == -5_000)
        #expect(DecimalValue(parsing: "922337203685477.5807")?.scaled == Int64.max)
        #expect(DecimalValue(parsing: "-922337203685477.5808")?.scaled == Int64.min)
        for bad in ["1", "1.", ".5", "1.23456", "922337203685477.5808", "1,0", "+1.0"] {
            #expect(DecimalValue(parsing: bad) == nil, "\(bad)")
        }
        #expect(try Fixture.evaluate(#"decimal("1.1").lessThan(decimal("1.11")) && decimal("2.0").greaterThanOrEqual(decimal("2.0"))"#) == true)
        #expect(try Fixture.evaluationError(#"decimal("abc")"#) == .extensionError)
    }

    @Test("datetimes in every accepted format")
    func datetime() throws {
        #expect(DatetimeValue(parsing: "1970-01-01")?.millisecondsSinceEpoch == 0)
        #expect(DatetimeValue(parsing: "1970-01-02T00:00:01Z")?.millisecondsSinceEpoch == 86_401_000)
        #expect(DatetimeValue(parsing: "1970-01-01T00:00:00.123Z")?.millisecondsSinceEpoch == 123)
        #expect(DatetimeValue(parsing: "1970-01-01T01:00:00+0100")?.millisecondsSinceEpoch == 0)
        #expect(DatetimeValue(parsing: "1969-12-31T23:00:00.000-0100")?.millisecondsSinceEpoch == 0)
        #expect(DatetimeValue(parsing: "2024-02-29")?.millisecondsSinceEpoch == 1_709_164_800_000)
        for bad in ["2023-02-29", "2024-13-01", "2024-01-01T24:00:00Z", "2024-01-01T00:00:00", "24-01-01", "2024-01-01T00:00:00+2400", "2024-01-01Z"] {
            #expect(DatetimeValue(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test("datetime and duration methods")
    func datetimeMethods() throws {
        #expect(try Fixture.evaluate(#"datetime("2024-01-01").offset(duration("1d")) == datetime("2024-01-02")"#) == true)
        #expect(try Fixture.evaluate(#"datetime("2024-01-02").durationSince(datetime("2024-01-01")) == duration("24h")"#) == true)
        #expect(try Fixture.evaluate(#"datetime("2024-01-01T10:30:00Z").toDate() == datetime("2024-01-01")"#) == true)
        #expect(try Fixture.evaluate(#"datetime("1969-12-31T23:00:00Z").toDate() == datetime("1969-12-31")"#) == true)
        #expect(try Fixture.evaluate(#"datetime("1969-12-31T23:00:00Z").toTime() == duration("23h")"#) == true)
        #expect(try Fixture.evaluate(#"duration("1d2h3m4s5ms").toMilliseconds()"#) == 93_784_005)
        #expect(try Fixture.evaluate(#"duration("-90m").toHours()"#) == -1)
        #expect(try Fixture.evaluate(#"duration("36h").toDays() + duration("90s").toMinutes() + duration("1500ms").toSeconds()"#) == 3)
        #expect(try Fixture.evaluationError(#"datetime("2024-01-01").offset(duration("9223372036854775807ms"))"#) == .extensionError)
    }

    @Test("durations need units in order, each once", arguments: ["", "-", "1", "1h1d", "1m1m", "1.5h", "h", "1x"])
    func badDuration(_ text: String) {
        #expect(DurationValue(parsing: text) == nil)
    }

    @Test("wrong argument counts fail at evaluation, as in Cedar")
    func arity() throws {
        #expect(try Fixture.evaluationError(#"duration("1h", "")"#) == .extensionError)
        #expect(try Fixture.evaluationError(#"ip("1.2.3.4").isInRange()"#) == .extensionError)
    }
}
