public import Foundation
public import PortcullisCore

/// Where sessions' records go (the store). Called off the request path; a failure is the recorder's to log.
public protocol SessionRecorder: Sendable {
    func record(_ sessions: [SessionRecord]) async
}

/// A call's traffic through its session, reported when the call ends.
public struct SessionTraffic: Sendable, Equatable {
    public var bytesIn: Int
    public var bytesOut: Int

    public init(bytesIn: Int = 0, bytesOut: Int = 0) {
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
    }
}

/// Memory GB-seconds from samples: each sample stands for the time since the one before, counted at no less than
/// 128 MiB; the total covers at least one second.
struct MemoryMeter: Sendable {
    static let minimumBytes = 128 << 20
    static let bytesPerGB = Double(1 << 30)

    private(set) var gbSeconds: Double = 0
    private var sampledSeconds: Double = 0
    private var lastSampleAt: Date
    private var lastBytes: Int = 0

    init(startedAt: Date) {
        lastSampleAt = startedAt
    }

    mutating func sample(bytes: Int, at date: Date) {
        let interval = date.timeIntervalSince(lastSampleAt)
        guard interval >= 0 else { return }  // The wall clock stepped back: wait for it.
        gbSeconds += Self.charge(bytes) * interval
        sampledSeconds += interval
        lastSampleAt = date
        lastBytes = bytes
    }

    /// The session's total, ended at `date` after starting at `startedAt`.
    func total(startedAt: Date, endedAt date: Date) -> Double {
        let unsampled = max(1, date.timeIntervalSince(startedAt)) - sampledSeconds
        return gbSeconds + max(0, unsampled) * Self.charge(lastBytes)
    }

    private static func charge(_ bytes: Int) -> Double {
        Double(max(bytes, minimumBytes)) / bytesPerGB
    }
}

/// Hands records to the recorder: starts and checkpoints in order, off the caller's path (``add(_:)``); a
/// session's end at once (``write(_:)``), so whoever ended it reads the final record. The recorder must keep an
/// ended record over a late checkpoint (the store does). ``close()`` waits until everything added is written.
final class RecordQueue: Sendable {
    private let recorder: any SessionRecorder
    private let continuation: AsyncStream<[SessionRecord]>.Continuation
    private let writer: Task<Void, Never>

    init(_ recorder: any SessionRecorder) {
        self.recorder = recorder
        let (stream, continuation) = AsyncStream<[SessionRecord]>.makeStream()
        self.continuation = continuation
        writer = Task {
            for await batch in stream { await recorder.record(batch) }
        }
    }

    func add(_ records: [SessionRecord]) {
        continuation.yield(records)
    }

    func write(_ records: [SessionRecord]) async {
        await recorder.record(records)
    }

    func close() async {
        continuation.finish()
        await writer.value
    }
}
