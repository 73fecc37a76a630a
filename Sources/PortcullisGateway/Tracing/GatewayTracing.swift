import HTTPTypes
import Hummingbird
import Logging
import NIOHTTP1
import OTel
import PortcullisCore
import ServiceLifecycle
import Synchronization
import Tracing

/// The gateway's spans. Off unless `tracing.endpoint` is set, and then nothing is allocated per request; on, an
/// OpenTelemetry tracer records them and a background service exports them over OTLP/HTTP in batches. The tracer
/// belongs to this gateway (no process-global bootstrap), so gateways in one process trace to their own collectors.
///
/// Spans nest through the task-local `InstrumentationContext.current`: the request's server span is current while
/// its handler runs, and every step below it (``withSpan(_:kind:_:)``) becomes its child.
struct GatewayTracing: Sendable {
    private let tracer: (any Tracer)?
    /// The batching exporter, run with the gateway's services so spans are flushed at shutdown.
    let service: (any Service)?

    static let off = GatewayTracing(tracer: nil, service: nil)

    private init(tracer: (any Tracer)?, service: (any Service)?) {
        self.tracer = tracer
        self.service = service
    }

    /// The tracer for `configuration`; `off` when it names no endpoint.
    static func make(_ configuration: TracingConfiguration, logger: Logger) throws -> GatewayTracing {
        guard let endpoint = configuration.endpoint else { return .off }
        var otel = OTel.Configuration.default
        otel.serviceName = configuration.serviceName
        otel.diagnosticLogger = .custom(logger)
        otel.propagators = [.traceContext]
        otel.metrics.enabled = false
        otel.logs.enabled = false
        otel.traces.exporter = .otlp
        otel.traces.otlpExporter.endpoint = endpoint
        otel.traces.otlpExporter.protocol = configuration.wireProtocol == .json ? .httpJSON : .httpProtobuf
        otel.traces.batchSpanProcessor.scheduleDelay = .milliseconds(Int64(configuration.exportDelaySeconds * 1000))
        let exportTimeout = Duration.milliseconds(Int64(configuration.exportTimeoutSeconds * 1000))
        otel.traces.otlpExporter.timeout = exportTimeout
        otel.traces.batchSpanProcessor.exportTimeout = exportTimeout
        otel.traces.sampler = .parentBasedTraceIDRatio(ratio: configuration.sampleRatio) ?? .parentBasedAlwaysOn
        let backend = try OTel.makeTracingBackend(configuration: otel)
        keptAlive.withLock { $0.append((backend.factory, backend.service)) }
        return GatewayTracing(tracer: backend.factory, service: backend.service)
    }

    /// Every tracer and exporter made, kept until the process exits. swift-otel's OTLP/HTTP exporter shuts its HTTP client down
    /// again in `deinit` with `syncShutdown()`, which traps on an event-loop thread — and in `portcullis` every task
    /// runs on one (NIO is the global executor). Kept alive, the exporter is shut down once, gracefully, by its
    /// service, and its `deinit` never runs. One per gateway started with tracing.
    private static let keptAlive = Mutex<[(any Tracer, any Service)]>([])

    var isEnabled: Bool { tracer != nil }

    /// A request's server span: a child of the caller's `traceparent` when it sent a valid one, else a new trace.
    func startServerSpan(_ name: String, headers: HTTPFields) -> (any Span)? {
        guard let tracer else { return nil }
        var parent = InstrumentationContext.topLevel
        tracer.extract(headers, into: &parent, using: HTTPFieldsExtractor())
        return tracer.startSpan(name, context: parent, ofKind: .server)
    }

    /// The trace context a request's `traceparent` names, `nil` without a valid one (or with tracing off).
    func extract(_ headers: HTTPFields) -> InstrumentationContext? {
        guard let tracer, headers[Self.traceparent] != nil else { return nil }
        var context = InstrumentationContext.topLevel
        tracer.extract(headers, into: &context, using: HTTPFieldsExtractor())
        return context.otelTraceID == nil ? nil : context
    }

    private static let traceparent = HTTPField.Name("traceparent")!

    /// A span whose parent is given explicitly (work that arrives outside a traced request, like an agent's vault
    /// call: its parent is the invocation the agent is answering). `nil` when tracing is off or there is no parent.
    func startSpan(_ name: String, parent: InstrumentationContext?, kind: SpanKind) -> (any Span)? {
        guard let tracer, let parent else { return nil }
        return tracer.startSpan(name, context: parent, ofKind: kind)
    }

    /// The span of the task's current context (the request's server span inside a handler), to add attributes to.
    var currentSpan: (any Span)? {
        guard let tracer, let context = InstrumentationContext.current else { return nil }
        return tracer.activeSpan(identifiedBy: context)
    }

    /// Runs `body` in a child span of the current span; with tracing off, or outside a traced request, just runs it.
    /// A thrown error marks the span failed with the error's code only (messages can quote the caller's input).
    func withSpan<Value, Failure: Error>(
        _ name: String,
        kind: SpanKind = .internal,
        _ body: ((any Span)?) async throws(Failure) -> Value
    ) async throws(Failure) -> Value {
        let (value, span) = try await withOpenSpan(name, kind: kind, body)
        span?.end()
        return value
    }

    /// ``withSpan(_:kind:_:)`` whose span outlives `body`: it comes back open, for the caller to end (a streamed
    /// answer's span ends with the stream). A failure ends it before the error is thrown.
    func withOpenSpan<Value, Failure: Error>(
        _ name: String,
        kind: SpanKind = .internal,
        _ body: ((any Span)?) async throws(Failure) -> Value
    ) async throws(Failure) -> (Value, (any Span)?) {
        guard let tracer, let parent = InstrumentationContext.current else { return (try await body(nil), nil) }
        let span = tracer.startSpan(name, context: parent, ofKind: kind)
        let result: Result<Value, Failure> = await InstrumentationContext.$current.withValue(span.context) {
            do throws(Failure) {
                return .success(try await body(span))
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let value):
            return (value, span)
        case .failure(let error):
            span.setStatus(SpanStatus(code: .error, message: Self.statusMessage(error)))
            span.end()
            throw error
        }
    }

    /// Answers of at most this size are in memory when the handler returns; larger ones (and those of unknown
    /// length) are streamed afterwards, so their spans end with ``ending(_:after:)``.
    static let streamedBodyThreshold = 256 * 1024

    /// `body`, ending `span` once it has been written (failed, when writing it fails).
    static func ending(_ span: any Span, after body: ResponseBody) -> ResponseBody {
        ResponseBody(contentLength: body.contentLength) { writer in
            do {
                try await body.write(writer)
            } catch {
                span.setStatus(SpanStatus(code: .error, message: statusMessage(error)))
                span.end()
                throw error
            }
            span.end()
        }
    }

    static func isStreamed(_ body: ResponseBody) -> Bool {
        (body.contentLength ?? Int.max) > streamedBodyThreshold
    }

    /// Runs `body` with `span` as the current span (its children nest under it).
    func within<Value>(_ span: any Span, _ body: () async -> Value) async -> Value {
        await InstrumentationContext.$current.withValue(span.context) { await body() }
    }

    /// Puts the current span's context into `headers` as `traceparent` (and `tracestate`), replacing whatever the
    /// caller sent, so the agent's spans become children of the gateway's. Nothing when off.
    func inject(into headers: inout HTTPHeaders) {
        guard let tracer, let context = InstrumentationContext.current else { return }
        tracer.inject(context, into: &headers, using: HTTPHeadersInjector())
    }

    /// What a failed span says: the AgentCore error code, or the error's type — never its message.
    static func statusMessage(_ error: any Error) -> String {
        if let error = error as? AgentCoreError { return error.code.rawValue }
        return String(describing: type(of: error))
    }
}

/// Reads `traceparent`/`tracestate` from a request's fields.
struct HTTPFieldsExtractor: Extractor {
    func extract(key: String, from carrier: HTTPFields) -> String? {
        guard let name = HTTPField.Name(key) else { return nil }
        return carrier[name]
    }
}

/// Writes `traceparent`/`tracestate` into the headers of a request to an agent.
struct HTTPHeadersInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout HTTPHeaders) {
        carrier.replaceOrAdd(name: key, value: value)
    }
}
