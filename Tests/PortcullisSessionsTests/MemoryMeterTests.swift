import Foundation
@testable import PortcullisSessions
import Testing

@Suite("Memory GB-seconds metering")
struct MemoryMeterTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)
    static let gib = 1 << 30

    @Test("each sample counts the time since the one before at no less than 128 MiB; a session counts at least one second")
    func minimums() {
        var meter = MemoryMeter(startedAt: Self.start)
        meter.sample(bytes: Self.gib, at: Self.start.addingTimeInterval(2))
        #expect(meter.gbSeconds == 2)
        meter.sample(bytes: 1 << 20, at: Self.start.addingTimeInterval(4))
        #expect(meter.gbSeconds == 2.25, "1 MiB is charged as 128 MiB: 2 s × 0.125 GiB")
        meter.sample(bytes: Self.gib, at: Self.start.addingTimeInterval(4))
        #expect(meter.gbSeconds == 2.25, "a sample at the same instant adds nothing")
        #expect(meter.total(startedAt: Self.start, endedAt: Self.start.addingTimeInterval(5)) == 3.25, "the unsampled last second at the last sample's 1 GiB")

        let short = MemoryMeter(startedAt: Self.start)
        #expect(short.total(startedAt: Self.start, endedAt: Self.start.addingTimeInterval(0.2)) == 0.125, "at least one second at 128 MiB")
    }
}
