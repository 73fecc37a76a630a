import Foundation
@testable import PortcullisCore
@testable import PortcullisIdentity
import Testing

@Suite("Key-set refresh schedule")
struct KeySetRefreshScheduleTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("due at once, then after max-age clamped to the bounds")
    func schedule() {
        var schedule = KeySetRefreshSchedule(configuration: KeySetConfiguration(refreshSeconds: 3600, minRefreshSeconds: 300, maxRefreshSeconds: 86400))
        #expect(schedule.isDue(at: start))
        schedule.fetched(at: start, maxAge: nil)
        #expect(!schedule.isDue(at: start.addingTimeInterval(3599)))
        #expect(schedule.isDue(at: start.addingTimeInterval(3600)))
        schedule.fetched(at: start, maxAge: 10)
        #expect(schedule.nextRefresh == start.addingTimeInterval(300))
        schedule.fetched(at: start, maxAge: 1_000_000)
        #expect(schedule.nextRefresh == start.addingTimeInterval(86400))
    }

    @Test("failures back off exponentially up to the minimum interval, and success resets them")
    func backoff() {
        var schedule = KeySetRefreshSchedule(configuration: KeySetConfiguration(minRefreshSeconds: 300))
        var delays: [TimeInterval] = []
        for _ in 0..<7 {
            schedule.failed(at: start)
            delays.append(schedule.nextRefresh!.timeIntervalSince(start))
        }
        #expect(delays == [15, 30, 60, 120, 240, 300, 300])
        schedule.fetched(at: start, maxAge: nil)
        #expect(schedule.consecutiveFailures == 0)
    }

    @Test("unknown-kid fetches: at most one per cooldown")
    func unknownKeyCooldown() {
        var schedule = KeySetRefreshSchedule(configuration: KeySetConfiguration(unknownKeyRefetchSeconds: 10))
        let admitted = [0, 9.9, 10, 10.1].map { schedule.admitUnknownKeyFetch(at: start.addingTimeInterval($0)) }
        #expect(admitted == [true, false, true, false])
    }
}
