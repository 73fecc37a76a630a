public import Logging
import OTel
import Tracing

/// The request a task is serving, so every log line written while serving it — whichever logger writes it —
/// names the request, its agent runtime and session, and its trace (`request_id`, `agent_runtime`, `session_id`,
/// `trace_id`). Set by the outermost middleware.
public enum RequestLogScope {
    struct Scope: Sendable {
        var requestId: String
        var observation: RequestObservation
    }

    @TaskLocal static var current: Scope?

    /// The metadata provider for the log handler of a process that runs a gateway.
    public static let metadataProvider = Logger.MetadataProvider {
        var metadata: Logger.Metadata = [:]
        if let scope = current {
            metadata["request_id"] = .string(scope.requestId)
            let runtime = scope.observation.agentRuntimeId
            if !runtime.isEmpty { metadata["agent_runtime"] = .string(runtime) }
            if let session = scope.observation.sessionId { metadata["session_id"] = .string(session) }
        }
        if let traceId = InstrumentationContext.current?.otelTraceID { metadata["trace_id"] = .string(traceId) }
        return metadata
    }
}
