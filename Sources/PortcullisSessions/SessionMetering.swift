public import Foundation
public import PortcullisCore

/// Where sessions' records go (the store, and the audit log for starts and ends). Called off the request path; a
/// failure is the recorder's to log.
public protocol SessionRecorder: Sendable {
    /// Checkpoints of running sessions.
    func record(_ sessions: [SessionRecord]) async
    /// A session's first record, once its sandbox runs.
    func started(_ session: SessionRecord) async
    /// A session's final record.
    func ended(_ session: SessionRecord) async
}

extension SessionRecorder {
    public func started(_ session: SessionRecord) async { await record([session]) }
    public func ended(_ session: SessionRecord) async { await record([session]) }
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

/// Hands records to the recorder in order: starts and checkpoints off the caller's path (``started(_:)``,
/// ``checkpoint(_:)``), a session's end behind them, awaited (``ended(_:)``), so whoever ended it reads the final
/// record. The recorder must keep an ended record over a late checkpoint (the store does). ``close()`` waits until
/// everything queued is written.
final class RecordQueue: Sendable {
    private enum Item: Sendable {
        case started(SessionRecord)
        case checkpoint([SessionRecord])
        /// Resumed once the end is written; ends go through the queue too, so a session that ends right after it
        /// started cannot have its end written before its start.
        case ended(SessionRecord, CheckedContinuation<Bool, Never>)
    }

    private let recorder: any SessionRecorder
    private let continuation: AsyncStream<Item>.Continuation
    private let writer: Task<Void, Never>

    init(_ recorder: any SessionRecorder) {
        self.recorder = recorder
        let (stream, continuation) = AsyncStream<Item>.makeStream()
        self.continuation = continuation
        writer = Task {
            for await item in stream {
                switch item {
                case .started(let record): await recorder.started(record)
                case .checkpoint(let records): await recorder.record(records)
                case .ended(let record, let written):
                    await recorder.ended(record)
                    written.resume(returning: true)
                }
            }
        }
    }

    func started(_ record: SessionRecord) {
        continuation.yield(.started(record))
    }

    func checkpoint(_ records: [SessionRecord]) {
        continuation.yield(.checkpoint(records))
    }

    /// Returns once the end is written.
    func ended(_ record: SessionRecord) async {
        let queued = await withCheckedContinuation { written in
            if case .enqueued = continuation.yield(.ended(record, written)) { return }
            written.resume(returning: false)
        }
        // After close() (the gateway stopping) there is no queue left to keep the order; nothing is behind it either.
        if !queued { await recorder.ended(record) }
    }

    func close() async {
        continuation.finish()
        await writer.value
    }
}
