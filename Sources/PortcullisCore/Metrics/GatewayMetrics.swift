public import Prometheus
import Synchronization

/// The gateway's metrics: one registry per gateway (never the process-wide swift-metrics bootstrap, so two
/// gateways in one test process count apart), written in the Prometheus text format by the metrics listener.
///
/// Every call names a metric of the catalog and passes its label values in the catalog's order. A metric keeps
/// at most `maxSeriesPerMetric` label combinations; past that, new combinations are counted under `other`, so a
/// registry with many agents (or a bug) cannot grow the exposition without bound.
public final class GatewayMetrics: Sendable {
    public static let maxSeriesPerMetric = 2_000
    public static let overflowLabel = "other"

    private let registry = PrometheusCollectorRegistry()
    /// The series made so far (overflowing label sets are not kept: they share their metric's `other` series),
    /// and how many each metric has.
    private let state = Mutex<(series: [SeriesKey: Series], counts: [GatewayMetric: Int])>(([:], [:]))

    public init() {}

    /// Adds to a counter.
    public func increment(_ metric: GatewayMetric, _ labels: String..., by amount: Double = 1) {
        guard case .counter(let counter) = handle(metric, labels) else { preconditionFailure("\(metric.rawValue) is not a counter") }
        counter.increment(by: amount)
    }

    /// Moves a gauge by `amount` (negative to lower it).
    public func adjust(_ metric: GatewayMetric, _ labels: String..., by amount: Double) {
        guard case .gauge(let gauge) = handle(metric, labels) else { preconditionFailure("\(metric.rawValue) is not a gauge") }
        gauge.increment(by: amount)
    }

    /// Records the time since `start` (a `ContinuousClock` instant) in a histogram.
    public func observe(_ metric: GatewayMetric, _ labels: String..., since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        guard case .histogram(let histogram) = handle(metric, labels) else { preconditionFailure("\(metric.rawValue) is not a histogram") }
        histogram.record(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    /// The Prometheus text exposition (format 0.0.4) of every series recorded so far.
    public func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16_384)
        registry.emit(into: &buffer)
        return buffer
    }

    private struct SeriesKey: Hashable {
        var metric: GatewayMetric
        var labels: [String]
    }

    private enum Series: Sendable {
        case counter(Counter)
        case gauge(Gauge)
        case histogram(ValueHistogram)
    }

    private func handle(_ metric: GatewayMetric, _ values: [String]) -> Series {
        // A wrong label count is a programming error the tests catch; the hot path does not pay for the check.
        assert(values.count == metric.labelNames.count, "\(metric.rawValue) takes the labels \(metric.labelNames)")
        return state.withLock { state in
            var key = SeriesKey(metric: metric, labels: values)
            if let existing = state.series[key] { return existing }
            if state.counts[metric, default: 0] >= Self.maxSeriesPerMetric {
                key.labels = values.map { _ in Self.overflowLabel }
                if let overflow = state.series[key] { return overflow }
            }
            let created = make(metric, Array(zip(metric.labelNames, key.labels)))
            state.series[key] = created
            state.counts[metric, default: 0] += 1
            return created
        }
    }

    private func make(_ metric: GatewayMetric, _ labels: [(String, String)]) -> Series {
        let descriptor = MetricNameDescriptor(metricName: metric.rawValue, unitName: "", helpText: metric.help)
        switch metric.kind {
        case .counter: return .counter(registry.makeCounter(descriptor: descriptor, labels: labels))
        case .gauge: return .gauge(registry.makeGauge(descriptor: descriptor, labels: labels))
        case .histogram(let buckets): return .histogram(registry.makeValueHistogram(descriptor: descriptor, labels: labels, buckets: buckets))
        }
    }
}
